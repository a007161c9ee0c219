//! A convolution's autodiff node on flex whose gradients are matrix products over the input's
//! patches (im2col), as TensorFlow and PyTorch compute them.

use crate::FlexAutodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;
use burn::backend::TensorMetadata;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Shape, TensorData};

#[derive(Debug)]
struct ConvBackward;

impl Backward<Flex, 3> for ConvBackward {
    /// The input's and the kernel's nodes (stride 1, no padding).
    type State = (NodeId, NodeId);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [x_node, weight_node, bias_node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, weight_state) = ops.state;
        let x: FlexTensor = checkpointer.retrieve_node_output(x_state);
        let weight: FlexTensor = checkpointer.retrieve_node_output(weight_state);

        let [batch, filters, out_h, out_w] = grad.shape().dims();
        let [_, channels, kernel_h, kernel_w] = weight.shape().dims();
        let positions = batch * out_h * out_w;
        let patch_len = channels * kernel_h * kernel_w;
        // Every product below reads contiguous operands (the small kernel matrices are copied
        // transposed): that measured faster here than flex's strided gemm on transposed views.
        if let Some(node) = x_node {
            // dL/dX: each patch's gradient is Wᵀ · dL/dY, added back where the patch came from.
            let grad_rows = Flex::float_reshape(
                Flex::float_permute(grad.clone(), &[1, 0, 2, 3]),
                Shape::new([filters, positions]),
            );
            let kernel_columns = Flex::float_reshape(weight, Shape::new([filters, patch_len]))
                .transpose(0, 1)
                .to_contiguous();
            let patch_grads = Flex::float_matmul(kernel_columns, grad_rows);
            let x_grad = add_patch_rows(&patch_grads, x.shape().dims(), kernel_h, kernel_w);
            grads.register::<Flex>(node.id, x_grad);
        }
        // The output gradient as [batch × positions, filters].
        let grad_columns = Flex::float_reshape(
            Flex::float_permute(grad, &[0, 2, 3, 1]),
            Shape::new([positions, filters]),
        );
        if let Some(node) = weight_node {
            // dL/dWᵀ = patches · dL/dY, then transposed to burn's [filters, channels, h, w].
            let weight_grad =
                Flex::float_matmul(patch_rows(&x, kernel_h, kernel_w), grad_columns.clone());
            let weight_grad = Flex::float_reshape(
                weight_grad.transpose(0, 1).to_contiguous(),
                Shape::new([filters, channels, kernel_h, kernel_w]),
            );
            grads.register::<Flex>(node.id, weight_grad);
        }
        if let Some(node) = bias_node {
            let bias_grad = Flex::float_sum_dim(grad_columns, 0);
            grads.register::<Flex>(
                node.id,
                Flex::float_reshape(bias_grad, Shape::new([filters])),
            );
        }
    }
}

/// The input's patches (im2col, transposed): row (c, i, j) holds X[b, c, oh + i, ow + j] for
/// every image b and output position (oh, ow), so each copy is a run of `out_w` neighbouring
/// pixels. (burn's `unfold4d` is a convolution with one-hot kernels on flex, 288 output channels
/// for the lab's second layer: far slower than this copy.)
fn patch_rows(x: &FlexTensor, kernel_h: usize, kernel_w: usize) -> FlexTensor {
    let [batch, channels, height, width] = x.shape().dims();
    let (out_h, out_w) = (height - kernel_h + 1, width - kernel_w + 1);
    let x = x.to_contiguous();
    let data: &[f32] = x.as_slice().expect("contiguous f32");
    let row_len = batch * out_h * out_w;
    let mut rows = vec![0.0f32; channels * kernel_h * kernel_w * row_len];
    let mut row = rows.chunks_exact_mut(row_len);
    for c in 0..channels {
        for i in 0..kernel_h {
            for j in 0..kernel_w {
                let row = row.next().expect("one row per (c, i, j)");
                for (b, image_rows) in row.chunks_exact_mut(out_h * out_w).enumerate() {
                    let plane = &data[(b * channels + c) * height * width..][..height * width];
                    for (oh, run) in image_rows.chunks_exact_mut(out_w).enumerate() {
                        let start = (oh + i) * width + j;
                        run.copy_from_slice(&plane[start..start + out_w]);
                    }
                }
            }
        }
    }
    let shape = Shape::new([channels * kernel_h * kernel_w, row_len]);
    FlexTensor::from_data(TensorData::new(rows, shape))
}

/// The inverse of [`patch_rows`] (col2im): adds each patch row back onto the pixels it was
/// copied from, giving a `[batch, channels, height, width]` tensor.
fn add_patch_rows(
    rows: &FlexTensor,
    [batch, channels, height, width]: [usize; 4],
    kernel_h: usize,
    kernel_w: usize,
) -> FlexTensor {
    let (out_h, out_w) = (height - kernel_h + 1, width - kernel_w + 1);
    let rows = rows.to_contiguous();
    let rows: &[f32] = rows.as_slice().expect("contiguous f32");
    let mut sums = vec![0.0f32; batch * channels * height * width];
    let mut row = rows.chunks_exact(batch * out_h * out_w);
    for c in 0..channels {
        for i in 0..kernel_h {
            for j in 0..kernel_w {
                let row = row.next().expect("one row per (c, i, j)");
                for (b, image_rows) in row.chunks_exact(out_h * out_w).enumerate() {
                    let plane = &mut sums[(b * channels + c) * height * width..][..height * width];
                    for (oh, run) in image_rows.chunks_exact(out_w).enumerate() {
                        let start = (oh + i) * width + j;
                        for (sum, value) in plane[start..start + out_w].iter_mut().zip(run) {
                            *sum += value;
                        }
                    }
                }
            }
        }
    }
    let shape = Shape::new([batch, channels, height, width]);
    FlexTensor::from_data(TensorData::new(sums, shape))
}

pub(crate) fn conv2d_autodiff(
    x: FloatTensor<FlexAutodiff>,
    weight: FloatTensor<FlexAutodiff>,
    bias: FloatTensor<FlexAutodiff>,
    options: ConvOptions<2>,
) -> FloatTensor<FlexAutodiff> {
    match ConvBackward
        .prepare::<NoCheckpointing>([x.node(), weight.node(), bias.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(&x);
            let weight_state = prep.checkpoint(&weight);
            let output = Flex::conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                Some(bias.into_primitive()),
                options.clone(),
            );
            prep.finish((x_state, weight_state), output)
        }
        OpsKind::UnTracked(prep) => prep.finish(Flex::conv2d(
            x.into_primitive(),
            weight.into_primitive(),
            Some(bias.into_primitive()),
            options,
        )),
    }
}
