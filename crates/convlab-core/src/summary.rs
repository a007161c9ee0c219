//! `model.summary()` as Keras 3 prints it: names, output shapes, parameter counts, totals.

use crate::spec::{LayerInfo, ModelSpec, SpecError};
use crate::units::{human_bytes, thousands};

/// Keras's human size for `params` float32 weights: `442.91 KB`.
pub fn param_bytes(params: usize) -> String {
    human_bytes((params as u64).saturating_mul(4))
}

/// The summary rows and the total, ready for a table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub layers: Vec<LayerInfo>,
    pub total_params: usize,
}

impl Summary {
    pub fn of(spec: &ModelSpec) -> Result<Summary, SpecError> {
        let layers = spec.infer()?;
        let total_params = layers.iter().map(|l| l.params).sum();
        Ok(Summary {
            layers,
            total_params,
        })
    }

    /// The table as Keras 3 draws it in a terminal.
    pub fn to_table(&self, model_name: &str) -> String {
        let rows: Vec<[String; 3]> = self
            .layers
            .iter()
            .map(|l| {
                [
                    format!("{} ({})", l.name, l.kind),
                    l.output.to_string(),
                    thousands(l.params),
                ]
            })
            .collect();
        let header = ["Layer (type)", "Output Shape", "Param #"];
        let mut widths = header.map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let widths = widths.map(|w| w + 2);
        let line = |left: &str, fill: &str, mid: &str, right: &str| {
            let parts: Vec<String> = widths.iter().map(|&w| fill.repeat(w)).collect();
            format!("{left}{}{right}\n", parts.join(mid))
        };
        let cells = |bar: &str, row: &[String; 3]| {
            format!(
                "{bar} {:<w0$}{bar} {:<w1$}{bar} {:>w2$} {bar}\n",
                row[0],
                row[1],
                row[2],
                w0 = widths[0] - 1,
                w1 = widths[1] - 1,
                w2 = widths[2] - 2,
            )
        };
        let mut out = format!("Model: \"{model_name}\"\n");
        out += &line("┏", "━", "┳", "┓");
        out += &cells("┃", &header.map(String::from));
        out += &line("┡", "━", "╇", "┩");
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                out += &line("├", "─", "┼", "┤");
            }
            out += &cells("│", row);
        }
        out += &line("└", "─", "┴", "┘");
        let total = format!(
            "{} ({})",
            thousands(self.total_params),
            param_bytes(self.total_params)
        );
        out += &format!(" Total params: {total}\n");
        out += &format!(" Trainable params: {total}\n");
        out += " Non-trainable params: 0 (0.00 B)\n";
        out
    }
}
