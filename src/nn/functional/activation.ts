// Activations.
import { callOp, type Tensor } from '../../tensor/tensor.js';

export const relu = (x: Tensor): Tensor => callOp('relu', '', x);
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => callOp('leaky_relu', '', x, { float: negativeSlope });
export const elu = (x: Tensor, alpha = 1): Tensor => callOp('elu', '', x, { float: alpha }, 1, 1);
/** GELU, exact ('none') or with the tanh approximation. */
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor => callOp('gelu', '', x, approximate);
/** min(max(x, 0), ceiling): aten::hardtanh(x, 0, ceiling), as PyTorch's relu6 (ceiling 6); the gradient is zero at both ends. */
export const clippedRelu = (x: Tensor, ceiling: number): Tensor => callOp('hardtanh', '', x, { float: 0 }, { float: ceiling });
export const sigmoid = (x: Tensor): Tensor => callOp('sigmoid', '', x);
export const tanh = (x: Tensor): Tensor => callOp('tanh', '', x);
export const softplus = (x: Tensor, beta = 1, threshold = 20): Tensor => callOp('softplus', '', x, { float: beta }, { float: threshold });
export const softmax = (x: Tensor, dim: number): Tensor => callOp('softmax', 'int', x, dim);
export const logSoftmax = (x: Tensor, dim: number): Tensor => callOp('log_softmax', 'int', x, dim);
