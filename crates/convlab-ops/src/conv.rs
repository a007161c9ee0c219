//! A convolution on flex computed as matrix products over the input's patches (im2col), as
//! TensorFlow and PyTorch compute it: forward, and an autodiff node whose weight and input
//! gradients are the same products transposed (col2im for the input).
//!
//! The convolution can also apply ReLU, or ReLU and 2×2 max pooling, in the loop that writes its
//! output ([`Epilogue`]): Keras's `Conv2D(activation="relu")` + `MaxPooling2D(2)` as one op, so
//! the full-size activation (11 MB for the lab's first layer at batch 128) is never stored, read
//! back for ReLU, read again for pooling, or read twice more by their backward passes.

use crate::parallel::{for_each_chunk, for_each_chunk_pair, map_blocks, threads};
use crate::pool::window_max;
use crate::FlexAutodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;
use burn::backend::TensorMetadata;
use burn::tensor::{Shape, TensorData};
use std::ops::Range;
use std::sync::Arc;

/// Images per block of patches at most. The lab's second layer at 32 images is 288 × 3,872 patch
/// values (4.5 MB); whole batches of 128 at once (18 MB) ran slower per image than blocks of 32.
/// Smaller batches are split so that every thread gets a block.
const IMAGES_PER_BLOCK: usize = 32;

/// Patch values the forward pass keeps for the weight gradient at most (64 MiB of f32, against
/// 4.5 MB for the lab's CNN at batch 32); above it the backward copies them again from the input,
/// so that a wide stack at a large batch does not hold kernel-area times its input in memory.
const MAX_KEPT_PATCH_VALUES: usize = 16 << 20;

/// What the backward pass reads the input's patches from.
#[derive(Debug, Clone)]
enum SavedPatches {
    /// The forward pass's patches, one tensor per block of images.
    Kept(Vec<FlexTensor>),
    /// The input's node: the patches are copied again, block by block.
    Input(NodeId),
    /// The kernels need no gradient, so nothing reads patches.
    None,
}

/// What the convolution applies to its output, after the bias, before writing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Epilogue {
    /// The biased output as it is.
    None,
    /// ReLU.
    Relu,
    /// ReLU, then 2×2 max pooling with stride 2 (a partial last row or column dropped).
    /// Needs an output of at least 2×2.
    ReluMaxPool2x2,
}

/// burn-flex's ReLU: NaN propagates.
#[inline(always)]
fn relu(value: f32) -> f32 {
    if value.is_nan() || value > 0.0 {
        value
    } else {
        0.0
    }
}

/// burn-flex's ReLU backward, from the ReLU's output: the gradient passes where it is positive
/// or NaN.
#[inline(always)]
fn relu_passes(output: f32) -> bool {
    output.is_nan() || output > 0.0
}

/// What the backward pass needs of the epilogue.
#[derive(Debug, Clone)]
enum SavedOutput {
    None,
    /// The ReLU's output (its sign is the mask).
    Relu(FlexTensor),
    /// The pooled ReLU output and each value's position in its window (row × 2 + column).
    ReluMaxPool2x2(FlexTensor, Arc<Vec<u8>>),
}

/// The sizes of one stride-1, unpadded convolution.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    batch: usize,
    channels: usize,
    height: usize,
    width: usize,
    filters: usize,
    kernel_h: usize,
    kernel_w: usize,
    out_h: usize,
    out_w: usize,
}

impl Geometry {
    fn new(x: &Shape, weight: &Shape) -> Geometry {
        let [batch, channels, height, width] = x.dims();
        let [filters, _, kernel_h, kernel_w] = weight.dims();
        Geometry {
            batch,
            channels,
            height,
            width,
            filters,
            kernel_h,
            kernel_w,
            out_h: height - kernel_h + 1,
            out_w: width - kernel_w + 1,
        }
    }

    /// Values in one patch: channels × kernel height × kernel width.
    fn patch_len(&self) -> usize {
        self.channels * self.kernel_h * self.kernel_w
    }

    /// Output positions per image.
    fn positions(&self) -> usize {
        self.out_h * self.out_w
    }

    /// The dims of the op's output: the convolution's, or the pooled ones.
    fn output_dims(&self, epilogue: Epilogue) -> [usize; 4] {
        match epilogue {
            Epilogue::None | Epilogue::Relu => [self.batch, self.filters, self.out_h, self.out_w],
            Epilogue::ReluMaxPool2x2 => [self.batch, self.filters, self.out_h / 2, self.out_w / 2],
        }
    }

    /// The forward pass's images per block: a block for each thread, at most
    /// [`IMAGES_PER_BLOCK`], and few enough that the blocks the threads work on at once hold at
    /// most [`MAX_KEPT_PATCH_VALUES`] patch values where possible. The backward pass reuses it
    /// (it reads the forward's patches block by block).
    fn block_len(&self) -> usize {
        let threads = threads();
        let per_image = (self.patch_len() * self.positions()).max(1);
        let fits = MAX_KEPT_PATCH_VALUES / (threads * per_image);
        self.batch
            .div_ceil(threads)
            .min(IMAGES_PER_BLOCK)
            .min(fits)
            .max(1)
    }

    /// The blocks of `len` images.
    fn blocks(&self, len: usize) -> impl Iterator<Item = Range<usize>> {
        let batch = self.batch;
        (0..batch)
            .step_by(len)
            .map(move |start| start..(start + len).min(batch))
    }

    /// The kernels as a `[filters, patch_len]` matrix.
    fn kernel_matrix(&self, weight: FlexTensor) -> FlexTensor {
        Flex::float_reshape(weight, Shape::new([self.filters, self.patch_len()])).to_contiguous()
    }
}

/// The convolution of a `[batch, channels, height, width]` input with `[filters, channels, kh,
/// kw]` kernels plus a bias per filter, then the epilogue: per block of images, kernels ×
/// patches.
pub(crate) fn conv2d_forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &FlexTensor,
    epilogue: Epilogue,
) -> FlexTensor {
    conv2d_forward_keeping_patches(x, weight, bias, epilogue, false).output
}

/// What the forward pass computed.
struct Forward {
    output: FlexTensor,
    /// Each pooled value's position in its 2×2 window (pooling epilogue only).
    windows: Vec<u8>,
    /// Each block's patches, when asked to keep them (the weight gradient needs them again).
    patches: Vec<FlexTensor>,
    /// Images per block.
    block_len: usize,
}

/// [`conv2d_forward`], also returning what the backward pass needs.
fn conv2d_forward_keeping_patches(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &FlexTensor,
    epilogue: Epilogue,
    keep: bool,
) -> Forward {
    let geometry = Geometry::new(&x.shape(), &weight.shape());
    let Geometry { filters, out_w, .. } = geometry;
    let positions = geometry.positions();
    let dims = geometry.output_dims(epilogue);
    let image_len = filters * dims[2] * dims[3];
    let x = x.to_contiguous();
    let pixels: &[f32] = x.as_slice().expect("contiguous f32");
    let kernels = geometry.kernel_matrix(weight.clone());
    let bias = bias.to_contiguous();
    let bias: &[f32] = bias.as_slice().expect("contiguous f32");
    let mut output = vec![0.0f32; dims.iter().product()];
    let pooling = epilogue == Epilogue::ReluMaxPool2x2;
    debug_assert!(
        !pooling || (geometry.out_h >= 2 && geometry.out_w >= 2),
        "the caller pools only outputs with a 2×2 window"
    );
    let mut windows = vec![0u8; if pooling { output.len() } else { 0 }];
    // One work item per block of images: its part of the output (and of the windows).
    let block_len = geometry.block_len();
    let block_values = block_len * image_len;
    // Without pooling there are no windows: every block gets `None`.
    let blocks = geometry.blocks(block_len).count();
    let window_parts = per_block(windows.chunks_mut(block_values), blocks);
    let items: Vec<_> = geometry
        .blocks(block_len)
        .zip(output.chunks_mut(block_values))
        .zip(window_parts)
        .collect();
    let kept = map_blocks(items, |((images, block), block_windows)| {
        let patches = patch_rows(&geometry, pixels, images.clone());
        let kept = keep.then(|| patches.clone());
        // [filters, images × positions] → each image's [filters, positions] block, plus bias.
        let product = Flex::float_matmul(kernels.clone(), patches).to_contiguous();
        let product: &[f32] = product.as_slice().expect("contiguous f32");
        let row_len = images.len() * positions;
        // One image's values of one filter: a contiguous run of the product.
        let plane = |image: usize, filter: usize| {
            &product[filter * row_len + image * positions..][..positions]
        };
        if let Some(block_windows) = block_windows {
            for_each_chunk_pair(
                (block, image_len),
                (block_windows, image_len),
                |image, out, windows| {
                    let planes = out
                        .chunks_exact_mut(image_len / filters)
                        .zip(windows.chunks_exact_mut(image_len / filters));
                    for (filter, (out, windows)) in planes.enumerate() {
                        pool_plane(plane(image, filter), out_w, bias[filter], out, windows);
                    }
                },
            );
        } else {
            let activate = epilogue == Epilogue::Relu;
            for_each_chunk(block, image_len, |image, out| {
                for (filter, out) in out.chunks_exact_mut(positions).enumerate() {
                    let values = plane(image, filter);
                    for (out, value) in out.iter_mut().zip(values) {
                        let biased = value + bias[filter];
                        *out = if activate { relu(biased) } else { biased };
                    }
                }
            });
        }
        kept
    });
    Forward {
        output: FlexTensor::from_data(TensorData::new(output, Shape::new(dims))),
        windows,
        patches: kept.into_iter().flatten().collect(),
        block_len,
    }
}

/// ReLU and 2×2 max pooling of one filter's `out_h × out_w` plane of one image, plus its bias:
/// the pooled values and their positions in their windows.
fn pool_plane(values: &[f32], out_w: usize, bias: f32, pooled: &mut [f32], windows: &mut [u8]) {
    let pooled_w = out_w / 2;
    let rows = pooled
        .chunks_exact_mut(pooled_w)
        .zip(windows.chunks_exact_mut(pooled_w));
    for (row, (pooled, windows)) in rows.enumerate() {
        let upper = &values[2 * row * out_w..][..2 * pooled_w];
        let lower = &values[(2 * row + 1) * out_w..][..2 * pooled_w];
        for j in 0..pooled_w {
            // The bias first, so that ties are decided on the values burn's ops would compare.
            let (a, b) = (upper[2 * j] + bias, upper[2 * j + 1] + bias);
            let (c, d) = (lower[2 * j] + bias, lower[2 * j + 1] + bias);
            let (max, down, right) = window_max(a, b, c, d);
            pooled[j] = relu(max);
            windows[j] = (2 * down + right) as u8;
        }
    }
}

/// The output gradient of `images` as `[filters, images × positions]` rows, the layout the
/// products read, with the epilogue's backward pass applied on the way: ReLU's mask, and
/// pooling's scatter of each pooled gradient to its window's maximum.
fn output_grad_rows(
    geometry: &Geometry,
    saved: &SavedOutput,
    grad: &[f32],
    images: Range<usize>,
) -> FlexTensor {
    let Geometry {
        filters,
        out_h,
        out_w,
        ..
    } = *geometry;
    let positions = geometry.positions();
    let rows = images.len() * positions;
    let mut out = vec![0.0f32; filters * rows];
    match saved {
        SavedOutput::None => for_each_chunk(&mut out, rows, |filter, row| {
            for (b, dst) in images.clone().zip(row.chunks_exact_mut(positions)) {
                dst.copy_from_slice(&grad[(b * filters + filter) * positions..][..positions]);
            }
        }),
        SavedOutput::Relu(output) => {
            let output: &[f32] = output.as_slice().expect("contiguous f32");
            for_each_chunk(&mut out, rows, |filter, row| {
                for (b, dst) in images.clone().zip(row.chunks_exact_mut(positions)) {
                    let at = (b * filters + filter) * positions;
                    let sources = grad[at..][..positions].iter().zip(&output[at..]);
                    for (dst, (&grad, &output)) in dst.iter_mut().zip(sources) {
                        *dst = if relu_passes(output) { grad } else { 0.0 };
                    }
                }
            })
        }
        SavedOutput::ReluMaxPool2x2(pooled, windows) => {
            let pooled: &[f32] = pooled.as_slice().expect("contiguous f32");
            let (pooled_h, pooled_w) = (out_h / 2, out_w / 2);
            let plane = pooled_h * pooled_w;
            for_each_chunk(&mut out, rows, |filter, row| {
                for (b, dst) in images.clone().zip(row.chunks_exact_mut(positions)) {
                    let at = (b * filters + filter) * plane;
                    for p in 0..plane {
                        if relu_passes(pooled[at + p]) {
                            let window = windows[at + p] as usize;
                            let (i, j) = (2 * (p / pooled_w) + window / 2, 2 * (p % pooled_w));
                            dst[i * out_w + j + window % 2] = grad[at + p];
                        }
                    }
                }
            })
        }
    }
    FlexTensor::from_data(TensorData::new(out, Shape::new([filters, rows])))
}

#[derive(Debug)]
struct ConvBackward;

/// All the gradients need of the forward pass.
#[derive(Debug, Clone)]
struct ConvState {
    x_shape: Shape,
    /// The kernels' node.
    weight: NodeId,
    /// Where the input's patches come from.
    patches: SavedPatches,
    /// What the epilogue's backward pass needs.
    output: SavedOutput,
    /// The forward's images per block (its kept patches are per block).
    block_len: usize,
}

impl Backward<Flex, 3> for ConvBackward {
    type State = ConvState;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [x_node, weight_node, bias_node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node).to_contiguous();
        let grad: &[f32] = grad.as_slice().expect("contiguous f32");
        let ConvState {
            x_shape,
            weight: weight_state,
            patches: saved,
            output: saved_output,
            block_len,
        } = ops.state;
        let weight: FlexTensor = checkpointer.retrieve_node_output(weight_state);

        let geometry = Geometry::new(&x_shape, &weight.shape());
        let Geometry { filters, .. } = geometry;
        // Every product reads contiguous operands (the small kernel matrix is copied
        // transposed): that measured faster here than flex's strided gemm on transposed views.
        let kernel_columns = x_node.as_ref().map(|_| {
            geometry
                .kernel_matrix(weight)
                .transpose(0, 1)
                .to_contiguous()
        });
        let mut x_grad = x_node
            .as_ref()
            .map(|_| vec![0.0f32; x_shape.num_elements()]);
        let (kept, input) = match saved {
            SavedPatches::Kept(patches) => (patches, None),
            SavedPatches::Input(node) => {
                let x: FlexTensor = checkpointer.retrieve_node_output(node);
                (Vec::new(), Some(x.to_contiguous()))
            }
            SavedPatches::None => (Vec::new(), None),
        };
        // One work item per block of images, as in the forward pass: its part of dL/dX and
        // its patches; each returns its parts of the kernel and bias gradients.
        let blocks = geometry.blocks(block_len).count();
        let image_len = geometry.channels * geometry.height * geometry.width;
        let x_grad_parts = match &mut x_grad {
            Some(sums) => per_block(sums.chunks_mut(block_len * image_len), blocks),
            None => per_block(std::iter::empty(), blocks),
        };
        let items: Vec<_> = geometry
            .blocks(block_len)
            .zip(x_grad_parts)
            .zip(per_block(kept, blocks))
            .collect();
        let parts = map_blocks(items, |((images, x_grad), kept)| {
            let grad_rows = output_grad_rows(&geometry, &saved_output, grad, images.clone());
            if let (Some(kernel_columns), Some(x_grad)) = (&kernel_columns, x_grad) {
                // dL/dX: each patch's gradient is Wᵀ · dL/dY, added back where it came from.
                let patch_grads = Flex::float_matmul(kernel_columns.clone(), grad_rows.clone());
                add_patch_rows(&geometry, &patch_grads, images.len(), x_grad);
            }
            if weight_node.is_none() && bias_node.is_none() {
                return (None, None);
            }
            // The output gradient as [images × positions, filters].
            let grad_columns = grad_rows.transpose(0, 1).to_contiguous();
            let weight_part = weight_node.as_ref().map(|_| {
                // dL/dWᵀ = patches · dL/dY, summed over the blocks.
                let patches = match (&input, kept) {
                    (Some(x), _) => {
                        patch_rows(&geometry, x.as_slice().expect("contiguous f32"), images)
                    }
                    (None, kept) => kept.expect("the forward kept one per block"),
                };
                Flex::float_matmul(patches, grad_columns.clone())
            });
            let bias_part = bias_node
                .as_ref()
                .map(|_| Flex::float_sum_dim(grad_columns, 0));
            (weight_part, bias_part)
        });
        let (mut weight_grad, mut bias_grad) = (None, None);
        for (weight_part, bias_part) in parts {
            if let Some(part) = weight_part {
                weight_grad = Some(add(weight_grad.take(), part));
            }
            if let Some(part) = bias_part {
                bias_grad = Some(add(bias_grad.take(), part));
            }
        }
        if let (Some(node), Some(sums)) = (x_node, x_grad) {
            let x_grad = FlexTensor::from_data(TensorData::new(sums, x_shape));
            grads.register::<Flex>(node.id, x_grad);
        }
        if let (Some(node), Some(transposed)) = (weight_node, weight_grad) {
            let Geometry {
                channels,
                kernel_h,
                kernel_w,
                ..
            } = geometry;
            let weight_grad = Flex::float_reshape(
                transposed.transpose(0, 1).to_contiguous(),
                Shape::new([filters, channels, kernel_h, kernel_w]),
            );
            grads.register::<Flex>(node.id, weight_grad);
        }
        if let (Some(node), Some(sum)) = (bias_node, bias_grad) {
            grads.register::<Flex>(node.id, Flex::float_reshape(sum, Shape::new([filters])));
        }
    }
}

/// One entry per block: the parts in order, then `None` for blocks without one (no windows
/// without pooling, no input gradient or kept patches where nothing needs them).
fn per_block<T>(parts: impl IntoIterator<Item = T>, blocks: usize) -> Vec<Option<T>> {
    let mut entries: Vec<Option<T>> = parts.into_iter().map(Some).collect();
    entries.resize_with(blocks, || None);
    entries
}

fn add(sum: Option<FlexTensor>, part: FlexTensor) -> FlexTensor {
    match sum {
        Some(sum) => Flex::float_add(sum, part),
        None => part,
    }
}

/// The patches of `images` (im2col, transposed): row (c, i, j) holds X[b, c, oh + i, ow + j]
/// for each of those images b and every output position (oh, ow), so each copy is a run of
/// `out_w` neighbouring pixels. (burn's `unfold4d` is a convolution with one-hot kernels on
/// flex, 288 output channels for the lab's second layer: far slower than this copy.)
fn patch_rows(geometry: &Geometry, pixels: &[f32], images: Range<usize>) -> FlexTensor {
    let Geometry {
        channels,
        height,
        width,
        kernel_h,
        kernel_w,
        out_w,
        ..
    } = *geometry;
    let row_len = images.len() * geometry.positions();
    let mut rows = vec![0.0f32; geometry.patch_len() * row_len];
    for_each_chunk(&mut rows, row_len, |r, row| {
        let (c, i, j) = (
            r / (kernel_h * kernel_w),
            r / kernel_w % kernel_h,
            r % kernel_w,
        );
        for (b, image_rows) in images
            .clone()
            .zip(row.chunks_exact_mut(geometry.positions()))
        {
            let plane = &pixels[(b * channels + c) * height * width..][..height * width];
            for (oh, run) in image_rows.chunks_exact_mut(out_w).enumerate() {
                let start = (oh + i) * width + j;
                run.copy_from_slice(&plane[start..start + out_w]);
            }
        }
    });
    let shape = Shape::new([geometry.patch_len(), row_len]);
    FlexTensor::from_data(TensorData::new(rows, shape))
}

/// The inverse of [`patch_rows`] (col2im): adds each patch row of a block of `images` back onto
/// the pixels it was copied from, in `block` (those images' `[images, channels, height, width]`).
fn add_patch_rows(geometry: &Geometry, rows: &FlexTensor, images: usize, block: &mut [f32]) {
    let Geometry {
        channels,
        height,
        width,
        kernel_h,
        kernel_w,
        out_w,
        ..
    } = *geometry;
    let rows = rows.to_contiguous();
    let rows: &[f32] = rows.as_slice().expect("contiguous f32");
    let (positions, row_len) = (geometry.positions(), images * geometry.positions());
    let image_len = channels * height * width;
    for_each_chunk(block, image_len, |image, sums| {
        let mut r = 0;
        for plane in sums.chunks_exact_mut(height * width) {
            for i in 0..kernel_h {
                for j in 0..kernel_w {
                    let values = &rows[r * row_len + image * positions..][..positions];
                    for (oh, run) in values.chunks_exact(out_w).enumerate() {
                        let start = (oh + i) * width + j;
                        for (sum, value) in plane[start..start + out_w].iter_mut().zip(run) {
                            *sum += value;
                        }
                    }
                    r += 1;
                }
            }
        }
    });
}

pub(crate) fn conv2d_autodiff(
    x: FloatTensor<FlexAutodiff>,
    weight: FloatTensor<FlexAutodiff>,
    bias: FloatTensor<FlexAutodiff>,
    epilogue: Epilogue,
) -> FloatTensor<FlexAutodiff> {
    match ConvBackward
        .prepare::<NoCheckpointing>([x.node(), weight.node(), bias.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_shape = x.primitive().shape();
            let geometry = Geometry::new(&x_shape, &weight.primitive().shape());
            let patch_values = geometry.patch_len() * geometry.batch * geometry.positions();
            let keep = weight.is_tracked() && patch_values <= MAX_KEPT_PATCH_VALUES;
            let forward = conv2d_forward_keeping_patches(
                x.primitive(),
                weight.primitive(),
                bias.primitive(),
                epilogue,
                keep,
            );
            let saved = if keep {
                SavedPatches::Kept(forward.patches)
            } else if weight.is_tracked() {
                SavedPatches::Input(prep.checkpoint(&x))
            } else {
                SavedPatches::None
            };
            let saved_output = match epilogue {
                Epilogue::None => SavedOutput::None,
                Epilogue::Relu => SavedOutput::Relu(forward.output.clone()),
                Epilogue::ReluMaxPool2x2 => {
                    SavedOutput::ReluMaxPool2x2(forward.output.clone(), Arc::new(forward.windows))
                }
            };
            let weight_state = prep.checkpoint(&weight);
            let state = ConvState {
                x_shape,
                weight: weight_state,
                patches: saved,
                output: saved_output,
                block_len: forward.block_len,
            };
            prep.finish(state, forward.output)
        }
        OpsKind::UnTracked(prep) => prep.finish(conv2d_forward(
            x.primitive(),
            weight.primitive(),
            bias.primitive(),
            epilogue,
        )),
    }
}
