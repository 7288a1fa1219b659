"""Max pooling: keep the largest value in each window of each channel."""

from __future__ import annotations

import numpy as np

from .batch_chunks import map_chunks
from .conv import _pair, check_images, output_size, window_offsets
from .module import Module


class MaxPool2d(Module):
    """Max pooling over windows of kernel_size, moved by stride (default: kernel_size).

    Shapes: X (N, H, W, C) -> A (N, H_out, W_out, C) with H_out = floor((H - kh) / stride) + 1.
    Rows and columns that do not fill a last window are ignored, as in PyTorch.

    Backward sends each output's gradient to the input that was the maximum of its window (the
    first one in row-major window order, if several are equal, e.g. zeros after a ReLU); every
    other input gets zero.

    Memory: forward keeps, per output value, the window position of its maximum (int8, a
    quarter of the output's float32 size; int32 for windows of more than 128 values);
    backward allocates dL/dX. Both work in chunks of at most 32 images (``batch_chunks.py``).
    """

    def __init__(self, kernel_size=2, stride=None):
        self.kernel_size = _pair(kernel_size, "kernel_size", "MaxPool2d")
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", "MaxPool2d")
        self._argmax = None
        self._shape = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        where = f"{self!r}.forward"
        X = check_images(X, where)
        N, H, W, C = X.shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        if kh > H or kw > W:
            raise ValueError(
                f"{where}: the {kh}x{kw} pooling window is larger than the {H}x{W} input."
            )
        Ho, Wo = output_size(H, kh, sh, 0), output_size(W, kw, sw, 0)
        k_small = kh * kw <= 128  # window positions fit int8: less memory to move
        index_type = np.int8 if k_small else np.int32
        A = np.empty((N, Ho, Wo, C), dtype=X.dtype)
        argmax = np.zeros((N, Ho, Wo, C), dtype=index_type)

        def forward_chunk(images: slice) -> None:
            # A running maximum over the kh*kw window positions, each step vectorized over all
            # windows at once; a strict ">" keeps the first maximum when values are equal.
            A_chunk, argmax_chunk = A[images], argmax[images]
            for k, window in window_offsets(self.kernel_size, self.stride, Ho, Wo):
                candidate = X[images][window]
                if k == 0:
                    A_chunk[...] = candidate
                    continue
                larger = candidate > A_chunk  # where position k holds a new maximum
                np.maximum(A_chunk, candidate, out=A_chunk)
                # argmax = where(larger, k, argmax). Every earlier position is below k, so this is
                # max(argmax, k * larger): two fast passes over small integers, in place.
                # (larger as argmax's integer type: a view of the booleans if that is int8)
                k_where_larger = larger.view(np.int8) if k_small else larger.astype(np.int32)
                k_where_larger *= k
                np.maximum(argmax_chunk, k_where_larger, out=argmax_chunk)

        map_chunks(forward_chunk, N, nbytes=X.nbytes)  # a few images at a time (batch_chunks.py)
        self._argmax, self._shape = argmax, X.shape
        return A

    def backward(self, grad_A: np.ndarray) -> np.ndarray:
        shape, argmax = self._shape, self._argmax
        expected = None if argmax is None else argmax.shape
        grad_A = self._check_grad_out(shape, grad_A, expected)
        _, Ho, Wo, _ = argmax.shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        overlapping = sh < kh or sw < kw
        # Windows that tile the input exactly write every pixel once; otherwise start from zeros.
        tiling = (sh, sw) == (kh, kw) and (Ho * kh, Wo * kw) == shape[1:3]
        grad_X = np.empty(shape, grad_A.dtype) if tiling else np.zeros(shape, grad_A.dtype)

        def backward_chunk(images: slice) -> None:
            grad_chunk, grad_A_chunk, argmax_chunk = grad_X[images], grad_A[images], argmax[images]
            for k, window in window_offsets(self.kernel_size, self.stride, Ho, Wo):
                if overlapping:  # a pixel may be the maximum of several windows: add up
                    grad_chunk[window] += grad_A_chunk * (argmax_chunk == k)
                else:  # each pixel is in one window at most: write in place
                    np.multiply(grad_A_chunk, argmax_chunk == k, out=grad_chunk[window])

        map_chunks(backward_chunk, shape[0], nbytes=grad_X.nbytes)
        return grad_X

    def __repr__(self) -> str:
        return f"MaxPool2d(kernel_size={self.kernel_size}, stride={self.stride})"
