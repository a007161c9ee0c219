//! `convlab classify`: a student's own pictures through a saved model, each made into a
//! Fashion-MNIST-style 28x28 image first (convlab-picture), as the page's "Your own image" does.

use anyhow::{anyhow, Context, Result};
use convlab_core::{model_file, Backend, BackendKind, CLASS_NAMES};
use std::path::{Path, PathBuf};

/// The widest probability bar, in characters.
const BAR_WIDTH: f32 = 40.0;

pub fn run(model: &Path, pictures: &[PathBuf], backend: BackendKind) -> Result<()> {
    crate::cli::check_model_file_size(model)?;
    let bytes = std::fs::read(model).with_context(|| format!("reading {}", model.display()))?;
    let backend = convlab_core::block_on(Backend::choose(backend));
    let (network, _) = model_file::load(&bytes, &backend.device)
        .map_err(|e| anyhow!("{}: {e}", model.display()))?;
    // One unreadable picture does not stop the others; the command fails at the end.
    let mut failed = 0;
    for picture in pictures {
        if let Err(e) = classify_one(&network, picture, &backend) {
            eprintln!("error: {e:#}");
            failed += 1;
        }
    }
    match failed {
        0 => Ok(()),
        n => Err(anyhow!(
            "{n} of {} pictures could not be classified",
            pictures.len()
        )),
    }
}

fn classify_one(
    network: &convlab_core::Sequential,
    picture: &Path,
    backend: &Backend,
) -> Result<()> {
    let name = picture.display().to_string();
    let bytes = std::fs::read(picture).with_context(|| format!("reading {name}"))?;
    let rgba = convlab_picture::decode(&name, &bytes)?;
    let prepared = convlab_picture::prepare(&rgba).map_err(|e| anyhow!("{name}: {e}"))?;
    let classified = convlab_core::block_on(convlab_core::classify(
        network,
        prepared.pixels(),
        &backend.device,
    ))?;
    let probabilities = &classified.probabilities;
    let best = (0..probabilities.len())
        .max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]))
        .ok_or_else(|| anyhow!("{name}: the model gave no class probabilities"))?;
    let bounds = prepared.bounds;
    println!(
        "{name}: {} ({:.1}%); {}, the item is {}x{} pixels at {},{}",
        CLASS_NAMES[best],
        probabilities[best] * 100.0,
        if prepared.inverted {
            "negated (a dark item on a light background)"
        } else {
            "a light item on a dark background"
        },
        bounds.width,
        bounds.height,
        bounds.x,
        bounds.y
    );
    for (class, p) in CLASS_NAMES.iter().zip(probabilities) {
        let bar = "█".repeat((p * BAR_WIDTH).round() as usize);
        println!("  {class:<12} {:>5.1}% {bar}", p * 100.0);
    }
    Ok(())
}
