//! Max pooling over non-overlapping windows on flex tensors, and its autodiff node.

use crate::parallel::for_each_chunk_pair;
use crate::FlexAutodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;
use burn::backend::TensorMetadata;
use burn::tensor::{Shape, TensorData};

/// 2×2 max pooling with stride 2: the pooled tensor and the index of each window's maximum
/// inside its `height × width` plane (the layout burn's max-pool backward reads).
///
/// Branch-free on purpose: on real activations "which of the four is largest" is a coin toss,
/// and a branchy kernel (burn-flex's, or this one written with `if`s) spends most of its time
/// on mispredicted branches: 1.8-2.4 ms against 0.34 ms for the lab's first pooling at batch 32.
pub(crate) fn max_pool2x2(x: &FlexTensor) -> (FlexTensor, FlexTensor) {
    let [batch, channels, height, width] = x.shape().dims();
    let (out_h, out_w) = (height / 2, width / 2);
    let x = x.to_contiguous();
    let data: &[f32] = x.as_slice().expect("contiguous f32");
    let mut output = vec![0.0f32; batch * channels * out_h * out_w];
    let mut indices = vec![0i64; output.len()];
    let plane_out = out_h * out_w;
    let planes = (&mut output[..], plane_out);
    for_each_chunk_pair(
        planes,
        (&mut indices[..], plane_out),
        |p, output, indices| {
            let plane = &data[p * height * width..][..height * width];
            let rows = output
                .chunks_exact_mut(out_w)
                .zip(indices.chunks_exact_mut(out_w));
            for (oh, (out, at)) in rows.enumerate() {
                let start = 2 * oh * width;
                let upper = &plane[start..start + 2 * out_w];
                let lower = &plane[start + width..start + width + 2 * out_w];
                for j in 0..out_w {
                    let (a, b) = (upper[2 * j], upper[2 * j + 1]);
                    let (c, d) = (lower[2 * j], lower[2 * j + 1]);
                    let (max, down, right) = window_max(a, b, c, d);
                    out[j] = max;
                    at[j] = (start + 2 * j + down * width + right) as i64;
                }
            }
        },
    );
    let shape = Shape::new([batch, channels, out_h, out_w]);
    (
        FlexTensor::from_data(TensorData::new(output, shape.clone())),
        FlexTensor::from_data(TensorData::new(indices, shape)),
    )
}

/// The maximum of the 2×2 window `[a, b; c, d]` and its row and column in the window (0 or 1
/// each), without branches (see [`max_pool2x2`]). burn-flex's rule, as if scanning a, b, c, d:
/// a later value wins if it is strictly larger or NaN, so the first maximum wins ties and the
/// last NaN wins over everything (its gradient goes there, as in burn and PyTorch).
#[inline(always)]
pub(crate) fn window_max(a: f32, b: f32, c: f32, d: f32) -> (f32, usize, usize) {
    let top_right = (b > a) | b.is_nan();
    let bottom_right = (d > c) | d.is_nan();
    let (top, bottom) = (pick(top_right, a, b), pick(bottom_right, c, d));
    let down = (bottom > top) | bottom.is_nan();
    let right = (top_right ^ (down & (top_right ^ bottom_right))) as usize;
    (pick(down, top, bottom), down as usize, right)
}

/// `second` if `take_second`, else `first`, as a bit mask rather than a branch.
#[inline(always)]
fn pick(take_second: bool, first: f32, second: f32) -> f32 {
    let mask = (take_second as u32).wrapping_neg();
    f32::from_bits((first.to_bits() & !mask) | (second.to_bits() & mask))
}

/// Backward: burn's own scatter of the output gradient to each window's maximum.
#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
    /// The input's node and the window indices.
    type State = (NodeId, FlexTensor);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [parent] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, indices) = ops.state;
        let x: FlexTensor = checkpointer.retrieve_node_output(x_state);
        if let Some(parent) = parent {
            let x_grad = Flex::max_pool2d_with_indices_backward(
                x,
                [2, 2],
                [2, 2],
                [0, 0],
                [1, 1],
                false,
                grad,
                indices,
            )
            .x_grad;
            grads.register::<Flex>(parent.id, x_grad);
        }
    }
}

pub(crate) fn max_pool2x2_autodiff(x: FloatTensor<FlexAutodiff>) -> FloatTensor<FlexAutodiff> {
    match MaxPoolBackward
        .prepare::<NoCheckpointing>([x.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(&x);
            let (output, indices) = max_pool2x2(x.primitive());
            prep.finish((x_state, indices), output)
        }
        OpsKind::UnTracked(prep) => prep.finish(max_pool2x2(x.primitive()).0),
    }
}
