"""2-D convolution layer (cross-correlation, as in every deep-learning library).

Images are stored channels-last, (N, H, W, C), and a layer's weights as (kh, kw, C_in, C_out).
With that layout a convolution is a ``Linear`` layer applied to every image patch: im2col copies
each receptive field (a kh x kw x C_in block) into one row of a matrix ``cols``, and the whole
layer is the single matrix product ``Z = cols @ W_mat + b`` with ``W_mat = W.reshape(-1, C_out)``.
(In the code cols has one more column, of ones, and W_mat one more row, b: the same product.)
A strided view describes the patches without copying; one copy fills cols. A large batch is
done in chunks of at most 32 images, im2col and product for one chunk after the other, which
lets two threads share the work (``batch_chunks.py``).
``conv2d_naive`` computes the same thing with explicit loops, for teaching and testing.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._validation import as_float_array, check_nonnegative_int, check_positive_int
from .batch_chunks import map_chunks, sum_in_order
from .module import Module, Parameter


def _pair(value, name: str, where: str, *, allow_zero: bool = False) -> tuple[int, int]:
    """An int or a pair of ints -> (vertical, horizontal), checked to be positive (or >= 0)."""
    values = value if isinstance(value, tuple | list) else (value, value)
    if len(values) != 2:
        raise ValueError(f"{where}: {name} must be an int or a pair of ints, got {value!r}.")
    check = check_nonnegative_int if allow_zero else check_positive_int
    return tuple(check(v, name, where) for v in values)


def output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a sliding window: floor((size + 2 padding - kernel) / stride) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def window_offsets(kernel_size: tuple[int, int], stride: tuple[int, int], Ho: int, Wo: int):
    """For each position (u, v) in a kh x kw window: its index k = u kw + v and the strided
    slices of an (N, H, W, C) array that hold that position of every one of the Ho x Wo windows.

    Looping over these kh*kw offsets (never over pixels) is how the sliding-window layers move
    values and gradients between windows and pixels.
    """
    (kh, kw), (sh, sw) = kernel_size, stride
    for u in range(kh):
        for v in range(kw):
            yield u * kw + v, (slice(None), slice(u, u + sh * Ho, sh), slice(v, v + sw * Wo, sw))


def check_images(X, where: str, channels: int | None = None) -> np.ndarray:
    """X as a finite float array of shape (N, H, W, C), with C == channels if given."""
    X = as_float_array(X, "X", where)
    if X.ndim != 4:
        hint = ""
        if X.ndim == 3:
            hint = (
                " For one image of shape (H, W, C) use X[None]; for a batch of grey images "
                "of shape (N, H, W) use X[..., None]."
            )
        raise ValueError(
            f"{where}: expected images of shape (N, H, W, C) with 4 dimensions, got shape "
            f"{X.shape}.{hint}"
        )
    if channels is not None and X.shape[3] != channels:
        raise ValueError(
            f"{where}: X has {X.shape[3]} channels (shape {X.shape}), but this layer expects "
            f"{channels}. Images are channels-last, (N, H, W, C): for (N, C, H, W) arrays use "
            "X.transpose(0, 2, 3, 1)."
        )
    return X


def conv2d_naive(X: np.ndarray, W: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0):
    """Cross-correlation by explicit loops over images, output pixels and filters (slow).

    Z[n, i, j, f] = b[f] + sum_{u, v, c} X_pad[n, i*stride + u, j*stride + v, c] * W[u, v, c, f]

    Shapes: X (N, H, W, C), W (kh, kw, C, F), b (F,) -> Z (N, H_out, W_out, F).

    Raises:
        TypeError, ValueError: for arrays of other shapes, channels that do not match, NaN or
            infinite values, a kernel larger than the padded input, or a stride or padding that is
            not a positive (non-negative) integer.
    """
    where = "conv2d_naive"
    W = as_float_array(W, "W", where, ndim=4)
    X = check_images(X, where, W.shape[2])
    b = as_float_array(b, "b", where, ndim=1)
    stride = check_positive_int(stride, "stride", where)
    padding = check_nonnegative_int(padding, "padding", where)
    N, H, Wd, C = X.shape
    kh, kw, _, F = W.shape
    if b.shape != (F,):
        raise ValueError(f"{where}: W has {F} filters, so b needs shape ({F},), got {b.shape}.")
    if kh > H + 2 * padding or kw > Wd + 2 * padding:
        raise ValueError(
            f"{where}: the {kh}x{kw} kernel is larger than the padded input "
            f"({H + 2 * padding}x{Wd + 2 * padding})."
        )
    Xp = np.pad(X, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    Ho = output_size(H, kh, stride, padding)
    Wo = output_size(Wd, kw, stride, padding)
    Z = np.zeros((N, Ho, Wo, F), dtype=np.result_type(X, W))
    for n in range(N):
        for i in range(Ho):
            for j in range(Wo):
                patch = Xp[n, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
                for f in range(F):
                    Z[n, i, j, f] = np.sum(patch * W[:, :, :, f]) + b[f]
    return Z


class Conv2d(Module):
    """Convolution layer: C_out filters of size (kh, kw, C_in) slid over the input.

    Shapes:
        X: (N, H, W, C_in) -> Z: (N, H_out, W_out, C_out) with
        H_out = floor((H + 2 padding - kh) / stride) + 1 (and the same for W_out);
        W: (kh, kw, C_in, C_out); b: (C_out,).

    Args:
        in_channels, out_channels: C_in and C_out.
        kernel_size: int or (kh, kw).
        stride: int or pair, >= 1. padding: int or pair of zero rows/columns added on each side.
        bias: whether to add a bias per output channel.
        rng: seed or Generator for the initial weights; init: "he" (default) or "xavier",
            computed from fan_in = kh kw C_in and fan_out = kh kw C_out.
        dtype: floating dtype of the parameters (float32 trains faster, float64 for checks).
        input_grad: if False, backward skips dL/dX and returns None (for a network's first
            layer, whose input is data and needs no gradient).

    Memory: forward keeps the im2col matrix ``cols`` for backward, one matrix per chunk of at
    most 32 images (``batch_chunks.py``), (N H_out W_out) rows of kh kw C_in columns in all (one
    more, of ones, with a bias): about kh kw / stride^2 times the size of the input. Backward
    allocates dL/dX (the padded input's size) and, for each chunk in progress (one per thread),
    an (n H_out W_out, C_in) block of dL/d(cols).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        *,
        stride=1,
        padding=0,
        bias: bool = True,
        rng=None,
        init: str = "he",
        dtype=np.float64,
        input_grad: bool = True,
    ):
        where = "Conv2d"
        self.in_channels = check_positive_int(in_channels, "in_channels", where)
        self.out_channels = check_positive_int(out_channels, "out_channels", where)
        self.kernel_size = _pair(kernel_size, "kernel_size", where)
        self.stride = _pair(stride, "stride", where)
        self.padding = _pair(padding, "padding", where, allow_zero=True)
        if init not in ("he", "xavier"):
            raise ValueError(f"{where}: init must be 'he' or 'xavier', got {init!r}.")
        kh, kw = self.kernel_size
        fan_in, fan_out = kh * kw * in_channels, kh * kw * out_channels
        std = np.sqrt(2.0 / fan_in) if init == "he" else np.sqrt(2.0 / (fan_in + fan_out))
        rng = np.random.default_rng(rng)
        W = std * rng.standard_normal((kh, kw, in_channels, out_channels))
        self.W = Parameter(W.astype(dtype), "W")
        self.b = Parameter(np.zeros(out_channels, dtype=dtype), "b") if bias else None
        self.input_grad = input_grad
        self._cols_T = None
        self._shape = None

    def output_shape(self, H: int, W: int) -> tuple[int, int]:
        """(H_out, W_out) for an input of H x W pixels."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return output_size(H, kh, sh, ph), output_size(W, kw, sw, pw)

    def forward(self, X: np.ndarray) -> np.ndarray:
        where = f"{self!r}.forward"
        X = check_images(X, where, self.in_channels)
        N, H, W, C = X.shape
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        if kh > H + 2 * ph or kw > W + 2 * pw:
            raise ValueError(
                f"{where}: the {kh}x{kw} kernel is larger than the padded input "
                f"({H + 2 * ph}x{W + 2 * pw}); use a smaller kernel or more padding."
            )
        Ho, Wo = self.output_shape(H, W)
        Xp = np.pad(X, ((0, 0), (ph, ph), (pw, pw), (0, 0))) if ph or pw else X
        # cols gets one more column, of ones, when the layer has a bias: the bias is then the
        # weight of an input that is always 1, and one product computes Z.
        W_mat = self.W.value.reshape(-1, self.out_channels)
        if self.b is not None:
            W_mat = np.concatenate([W_mat, self.b.value[None, :]])
        Z = np.empty((N, Ho, Wo, self.out_channels), dtype=np.result_type(Xp, W_mat))

        def forward_chunk(images: slice) -> np.ndarray:
            cols_T = self._im2col_T(Xp[images], Ho, Wo)
            # cols_T.T is cols: one row per output pixel (n, i, j), one column per weight (u, v, c)
            np.matmul(cols_T.T, W_mat, out=Z[images].reshape(-1, self.out_channels))
            return cols_T

        # im2col and the product, a few images at a time (coursepkg/batch_chunks.py)
        cols_bytes = N * Ho * Wo * W_mat.shape[0] * Z.itemsize
        self._cols_T = map_chunks(forward_chunk, N, nbytes=cols_bytes)
        self._shape = (N, H, W, C, Ho, Wo)
        return Z

    def _im2col_T(self, Xp: np.ndarray, Ho: int, Wo: int) -> np.ndarray:
        """cols^T of the padded images Xp: (kh kw C [+ 1], N Ho Wo), a last row of ones if the
        layer has a bias."""
        ones = self.b is not None
        if Xp.shape[3] == 1:
            return self._grey_columns(Xp[..., 0], Ho, Wo, ones)
        return self._columns(Xp, Ho, Wo, ones).T

    def _columns(self, Xp: np.ndarray, Ho: int, Wo: int, ones: bool) -> np.ndarray:
        """im2col: the (N Ho Wo, kh kw C [+ 1]) matrix whose rows are the windows of the padded
        Xp, with a last column of ones if ``ones``."""
        Xp = np.ascontiguousarray(Xp)
        N, Hp, Wp, C = Xp.shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        # patches[n, i, j, u, :] is row u of the window under output pixel (i, j): the kw*C
        # values Xp[n, i*sh + u, j*sw : j*sw + kw, :], which lie next to each other in memory.
        # as_strided describes all windows without copying (like sliding_window_view, but in
        # the order the columns of cols need, so that the copy below moves whole rows).
        # Strides computed from the shape: NumPy may report any stride for an axis of length
        # 1 (e.g. one added with X[..., None]) even in a contiguous array.
        sC = Xp.itemsize
        sW, sH = C * sC, Wp * C * sC
        patches = as_strided(
            Xp, (N, Ho, Wo, kh, kw * C), (Hp * sH, sH * sh, sW * sw, sH, sC), writeable=False
        )
        K = kh * kw * C
        cols = np.empty((N * Ho * Wo, K + ones), dtype=Xp.dtype)
        np.copyto(cols[:, :K].reshape(patches.shape), patches)  # the one copy
        if ones:
            cols[:, K] = 1.0
        return cols

    def _grey_columns(self, Xg: np.ndarray, Ho: int, Wo: int, ones: bool) -> np.ndarray:
        """im2col for one input channel, built transposed: (kh kw [+ 1], N Ho Wo).

        Row k = u kw + v holds pixel (u, v) of every window, which is the whole image batch
        shifted by (u, v): kh*kw block copies instead of N Ho Wo short rows of kw values,
        several times faster for grey images (the first layer of an MNIST network).
        """
        N = Xg.shape[0]
        kh, kw = self.kernel_size
        cols_T = np.empty((kh * kw + ones, N, Ho, Wo), dtype=Xg.dtype)
        for k, window in window_offsets(self.kernel_size, self.stride, Ho, Wo):
            cols_T[k] = Xg[window]
        if ones:
            cols_T[-1] = 1.0
        return cols_T.reshape(kh * kw + ones, N * Ho * Wo)

    def backward(self, grad_Z: np.ndarray) -> np.ndarray | None:
        shape = self._shape
        N, H, W, C, Ho, Wo = shape if shape is not None else (0,) * 6
        F = self.out_channels
        grad_Z = self._check_grad_out(shape, grad_Z, (N, Ho, Wo, F))
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        W_blocks = self.W.value.reshape(kh * kw, C, F).transpose(0, 2, 1)  # (kh kw, F, C)
        dtype = np.result_type(grad_Z, W_blocks)
        grad_Xp = np.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype) if self.input_grad else None

        def backward_chunk(images: slice, cols_T: np.ndarray) -> np.ndarray:
            G = grad_Z[images].reshape(-1, F)  # rows match the rows of cols
            # As in Linear: dL/dW_mat = cols^T G (its last row is dL/db, the column sums of G,
            # when cols has the column of ones), and dL/dcols = G W_mat^T.
            if cols_T.flags.c_contiguous:
                grad_W_mat = cols_T @ G
            else:  # the same product, ordered so that BLAS reads cols in its memory order
                grad_W_mat = (G.T @ cols_T.T).T
            if grad_Xp is not None:
                # dL/dcols, one block of columns per weight position (u, v) at a time: block
                # (u, v) is G @ W[u, v].T, shape (n Ho Wo, C). col2im then sends it back to the
                # strided grid of pixels that position (u, v) read in forward. The loop runs over
                # the kh*kw kernel offsets only; one block-sized buffer is reused.
                n = images.stop - images.start
                block = np.empty((n * Ho * Wo, C), dtype=dtype)
                grad_chunk = grad_Xp[images]
                for k, window in window_offsets(self.kernel_size, self.stride, Ho, Wo):
                    np.matmul(G, W_blocks[k], out=block)
                    grad_chunk[window] += block.reshape(n, Ho, Wo, C)
            return grad_W_mat

        # one chunk of images at a time; the chunks' weight gradients are added in chunk order
        cols_bytes = sum(cols_T.nbytes for cols_T in self._cols_T)
        parts = map_chunks(backward_chunk, N, self._cols_T, nbytes=cols_bytes)
        if parts:
            grad_W_mat = sum_in_order(parts)
            K = self.W.size // F
            self.W.grad += grad_W_mat[:K].reshape(self.W.shape)
            if self.b is not None:
                self.b.grad += grad_W_mat[K]
        if grad_Xp is None:
            return None
        return grad_Xp[:, ph : ph + H, pw : pw + W]

    def parameters(self) -> list[Parameter]:
        return [self.W] if self.b is None else [self.W, self.b]

    def __repr__(self) -> str:
        extra = ""
        if self.stride != (1, 1):
            extra += f", stride={self.stride}"
        if self.padding != (0, 0):
            extra += f", padding={self.padding}"
        k = self.kernel_size
        return f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={k}{extra})"
