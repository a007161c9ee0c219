//! Loops over independent chunks of an output (one image, one plane): on rayon's threads
//! natively, in order in wasm, where a page's worker has one thread.

/// Work items per rayon task at least: a plane of the lab's pooling is ~0.2 µs of work.
#[cfg(not(target_family = "wasm"))]
const MIN_ITEMS_PER_TASK: usize = 8;

/// Runs `f(index, chunk)` on each `len`-long chunk of `out`.
pub(crate) fn for_each_chunk<T: Send>(
    out: &mut [T],
    len: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    #[cfg(not(target_family = "wasm"))]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(len)
            .enumerate()
            .with_min_len(MIN_ITEMS_PER_TASK)
            .for_each(|(index, chunk)| f(index, chunk));
    }
    #[cfg(target_family = "wasm")]
    out.chunks_mut(len)
        .enumerate()
        .for_each(|(index, chunk)| f(index, chunk));
}

/// Runs `f(index, a_chunk, b_chunk)` on matching chunks of two outputs.
pub(crate) fn for_each_chunk_pair<A: Send, B: Send>(
    (a, a_len): (&mut [A], usize),
    (b, b_len): (&mut [B], usize),
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync + Send,
) {
    #[cfg(not(target_family = "wasm"))]
    {
        use rayon::prelude::*;
        a.par_chunks_mut(a_len)
            .zip(b.par_chunks_mut(b_len))
            .enumerate()
            .with_min_len(MIN_ITEMS_PER_TASK)
            .for_each(|(index, (a, b))| f(index, a, b));
    }
    #[cfg(target_family = "wasm")]
    a.chunks_mut(a_len)
        .zip(b.chunks_mut(b_len))
        .enumerate()
        .for_each(|(index, (a, b))| f(index, a, b));
}
