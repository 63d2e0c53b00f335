//! The multi-coil SENSE forward model inside the candle graph, differentiable, on complex
//! tensors stored as `(…, 2)` real tensors (`(re, im)` in the last axis, as [`crate::fft`]).
//!
//! With an image `x` `(N, 1, H, W, 2)`, coil maps `S` `(N, C, H, W, 2)` and a 0/1 sampling
//! mask `M` `(N, 1, H, W, 1)` (broadcast over coils and re/im):
//! ```text
//! expand(x, S)      = S_c · x                     (N, C, H, W, 2)  coil images
//! reduce(z, S)      = Σ_c conj(S_c) · z_c         (N, 1, H, W, 2)
//! forward_op(x)     = A x  = M · F (S x)          k-space
//! adjoint_op(k)     = Aᴴ k = Sᴴ Fᴴ (M · k)        image
//! ```
//! `F` is the centred orthonormal 2-D DFT ([`crate::fft::fft2c`]), so this is
//! [`kspace::operator::SenseOperator`] (one map set) on batches, and `adjoint_op` is the exact
//! adjoint of `forward_op`: `⟨A x, y⟩ = ⟨x, Aᴴ y⟩`. Every function here is made of candle ops
//! and the FFT custom op, so gradients flow to `x` (and to `k`); maps and masks are data.

use candle_core::{bail, Result, Tensor, D};

use crate::fft::{fft2c, ifft2c};

/// Real and imaginary parts `(…, 1)` of a complex tensor `(…, 2)`.
pub fn re_im(x: &Tensor) -> Result<(Tensor, Tensor)> {
    if x.dims().last() != Some(&2) {
        bail!("complex tensor expected (…, 2), got shape {:?}", x.dims())
    }
    Ok((x.narrow(D::Minus1, 0, 1)?, x.narrow(D::Minus1, 1, 1)?))
}

/// The complex tensor `(…, 2)` of real and imaginary parts `(…, 1)`.
pub fn complex(re: &Tensor, im: &Tensor) -> Result<Tensor> {
    Tensor::cat(&[re, im], D::Minus1)
}

/// `a · b`, complex, with broadcasting over the leading axes:
/// `(ar·br − ai·bi, ar·bi + ai·br)`.
pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let ((ar, ai), (br, bi)) = (re_im(a)?, re_im(b)?);
    let re = ar.broadcast_mul(&br)?.broadcast_sub(&ai.broadcast_mul(&bi)?)?;
    let im = ar.broadcast_mul(&bi)?.broadcast_add(&ai.broadcast_mul(&br)?)?;
    complex(&re, &im)
}

/// `conj(a) · b`, complex, with broadcasting: `(ar·br + ai·bi, ar·bi − ai·br)`.
pub fn conj_mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let ((ar, ai), (br, bi)) = (re_im(a)?, re_im(b)?);
    let re = ar.broadcast_mul(&br)?.broadcast_add(&ai.broadcast_mul(&bi)?)?;
    let im = ar.broadcast_mul(&bi)?.broadcast_sub(&ai.broadcast_mul(&br)?)?;
    complex(&re, &im)
}

/// Checks `x` `(N, 1, H, W, 2)` against maps `(N, C, H, W, 2)`.
fn check_image(what: &str, x: &Tensor, maps: &Tensor) -> Result<()> {
    let (n, c, h, w, two) = maps.dims5()?;
    let (xn, xc, xh, xw, x2) = x.dims5()?;
    if two != 2 || x2 != 2 || xc != 1 || (xn, xh, xw) != (n, h, w) || c == 0 {
        bail!(
            "{what}: image {:?} does not fit maps {:?} (want (N, 1, H, W, 2), (N, C, H, W, 2))",
            x.dims(),
            maps.dims()
        )
    }
    Ok(())
}

/// Checks coil data `z` `(N, C, H, W, 2)` against maps of the same shape, and the mask
/// `(N, 1, H, W, 1)` when given.
fn check_coils(what: &str, z: &Tensor, maps: &Tensor, mask: Option<&Tensor>) -> Result<()> {
    if z.dims() != maps.dims() || maps.rank() != 5 || maps.dims()[4] != 2 {
        bail!("{what}: coil data {:?} does not match maps {:?} (want (N, C, H, W, 2))", z.dims(), maps.dims())
    }
    if let Some(m) = mask {
        let d = maps.dims();
        if m.dims() != [d[0], 1, d[2], d[3], 1] {
            bail!("{what}: mask {:?} should be (N, 1, H, W, 1) = {:?}", m.dims(), [d[0], 1, d[2], d[3], 1])
        }
    }
    Ok(())
}

/// Coil images `S_c · x`: image `(N, 1, H, W, 2)` × maps `(N, C, H, W, 2)` → `(N, C, H, W, 2)`.
pub fn expand(x: &Tensor, maps: &Tensor) -> Result<Tensor> {
    check_image("expand", x, maps)?;
    mul(maps, x)
}

/// Coil combination `Σ_c conj(S_c) · z_c`: `(N, C, H, W, 2)` → `(N, 1, H, W, 2)` (the adjoint
/// of [`expand`]).
pub fn reduce(z: &Tensor, maps: &Tensor) -> Result<Tensor> {
    check_coils("reduce", z, maps, None)?;
    conj_mul(maps, z)?.sum_keepdim(1)
}

/// `A x = M · F(S x)`: image `(N, 1, H, W, 2)` → masked coil k-space `(N, C, H, W, 2)`.
pub fn forward_op(x: &Tensor, maps: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let k = fft2c(&expand(x, maps)?)?;
    check_coils("forward_op", &k, maps, Some(mask))?;
    k.broadcast_mul(mask)
}

/// `Aᴴ k = Σ_c conj(S_c) · F⁻¹(M · k_c)`: coil k-space `(N, C, H, W, 2)` → image
/// `(N, 1, H, W, 2)` (k outside the mask is ignored).
pub fn adjoint_op(k: &Tensor, maps: &Tensor, mask: &Tensor) -> Result<Tensor> {
    check_coils("adjoint_op", k, maps, Some(mask))?;
    reduce(&ifft2c(&k.broadcast_mul(mask)?)?, maps)
}

/// The complex image `(N, 1, H, W, 2)` as a two-channel real image `(N, 2, H, W)` (channel 0
/// real, 1 imaginary), the layout of the convolutional networks.
pub fn to_channels(x: &Tensor) -> Result<Tensor> {
    let (n, one, h, w, two) = x.dims5()?;
    if one != 1 || two != 2 {
        bail!("to_channels: expected (N, 1, H, W, 2), got {:?}", x.dims())
    }
    x.reshape((n, h, w, 2))?.permute((0, 3, 1, 2))?.contiguous()
}

/// The inverse of [`to_channels`]: `(N, 2, H, W)` → `(N, 1, H, W, 2)`.
pub fn from_channels(x: &Tensor) -> Result<Tensor> {
    let (n, two, h, w) = x.dims4()?;
    if two != 2 {
        bail!("from_channels: expected (N, 2, H, W), got {:?}", x.dims())
    }
    x.permute((0, 2, 3, 1))?.contiguous()?.reshape((n, 1, h, w, 2))
}
