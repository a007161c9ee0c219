//! Loops over independent chunks of an output (one image, one plane) and over blocks of
//! images: on rayon's threads natively, one after another in wasm, where a page's worker has
//! one thread.
//!
//! A convolution hands whole blocks of images to the threads ([`map_blocks`]); the loops inside
//! a block then run one after another on that thread ([`for_each_chunk`] sees it is on a rayon
//! thread), so that a step has a few hand-offs between threads per layer instead of one per
//! loop. (flex's matrix products inside a block may still split across the threads.)

/// Work items per rayon task at least: a plane of the lab's pooling is ~0.2 µs of work.
#[cfg(not(target_family = "wasm"))]
const MIN_ITEMS_PER_TASK: usize = 8;

/// Threads the kernels spread blocks of images over.
pub(crate) fn threads() -> usize {
    #[cfg(not(target_family = "wasm"))]
    let threads = rayon::current_num_threads();
    #[cfg(target_family = "wasm")]
    let threads = 1;
    threads
}

/// `f` of each item, the items run in parallel (one rayon task each), the results in the
/// items' order. A single item runs on the calling thread, so that its loops still spread.
pub(crate) fn map_blocks<T: Send, R: Send>(
    items: Vec<T>,
    f: impl Fn(T) -> R + Sync + Send,
) -> Vec<R> {
    #[cfg(not(target_family = "wasm"))]
    if items.len() > 1 {
        use rayon::prelude::*;
        return items.into_par_iter().with_max_len(1).map(f).collect();
    }
    items.into_iter().map(f).collect()
}

/// Whether loops run one after another here: always in wasm; natively on rayon's own threads,
/// i.e. inside a block that [`map_blocks`] handed out.
fn sequential_here() -> bool {
    #[cfg(not(target_family = "wasm"))]
    let sequential = rayon::current_thread_index().is_some();
    #[cfg(target_family = "wasm")]
    let sequential = true;
    sequential
}

/// Runs `f(index, chunk)` on each `len`-long chunk of `out`.
pub(crate) fn for_each_chunk<T: Send>(
    out: &mut [T],
    len: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    if sequential_here() {
        out.chunks_mut(len)
            .enumerate()
            .for_each(|(index, chunk)| f(index, chunk));
    } else {
        #[cfg(not(target_family = "wasm"))]
        {
            use rayon::prelude::*;
            out.par_chunks_mut(len)
                .enumerate()
                .with_min_len(MIN_ITEMS_PER_TASK)
                .for_each(|(index, chunk)| f(index, chunk));
        }
    }
}

/// Runs `f(index, a_chunk, b_chunk)` on matching chunks of two outputs.
pub(crate) fn for_each_chunk_pair<A: Send, B: Send>(
    (a, a_len): (&mut [A], usize),
    (b, b_len): (&mut [B], usize),
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync + Send,
) {
    if sequential_here() {
        a.chunks_mut(a_len)
            .zip(b.chunks_mut(b_len))
            .enumerate()
            .for_each(|(index, (a, b))| f(index, a, b));
    } else {
        #[cfg(not(target_family = "wasm"))]
        {
            use rayon::prelude::*;
            a.par_chunks_mut(a_len)
                .zip(b.par_chunks_mut(b_len))
                .enumerate()
                .with_min_len(MIN_ITEMS_PER_TASK)
                .for_each(|(index, (a, b))| f(index, a, b));
        }
    }
}
