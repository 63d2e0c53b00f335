//! Differentiable data consistency inside the candle graph. candle has no FFT, so the
//! centred orthonormal 2-D DFT is written as real matrix products, which candle can
//! differentiate.
//!
//! The centred orthonormal DFT of length N (`fftshift(fft(ifftshift(x), norm="ortho"))`,
//! i.e. [`kspace::fft2c`] along one axis) is the matrix, with `c = ⌊N/2⌋` the DC index,
//! ```text
//! F[k, n] = exp(−2πi·(k − c)(n − c)/N) / √N
//! ```
//! (ifftshift moves sample n to n − c, fftshift moves bin k to k − c, and the kernel is
//! periodic in both). F is symmetric and unitary, so the inverse is `conj(F)`.
//! For an (N, C, H, W) real image batch f:
//! ```text
//! K  = F_H · f · F_W                      (F symmetric, so F_Wᵀ = F_W)
//! K' = K·(1 − m) + y                      y = S·m, the raw measured samples (zero where m = 0)
//! DC(f) = Re(conj(F_H) · K' · conj(F_W))
//! ```
//! With `F = A + iB` (real A, B): `K = (A f A_W − B f B_W) + i(A f B_W + B f A_W)`, and
//! `Re(conj(F_H) Z conj(F_W))` for `Z = Zr + iZi` is
//! `(A Zr + B Zi) A_W + (A Zi − B Zr) B_W`. Every product is a real matmul.

use models::{DType, Device, Tensor};

/// The centred DFT matrix of size n as (real, imaginary) parts, row-major n×n, in f64.
pub fn centred_dft_matrix(n: usize) -> (Vec<f64>, Vec<f64>) {
    let c = (n / 2) as i64;
    let scale = 1.0 / (n as f64).sqrt();
    let (mut re, mut im) = (vec![0.0; n * n], vec![0.0; n * n]);
    for k in 0..n {
        for j in 0..n {
            // Reduce (k−c)(j−c) mod n in integers so large n keeps full precision.
            let p = ((k as i64 - c) * (j as i64 - c)).rem_euclid(n as i64);
            let ang = -2.0 * std::f64::consts::PI * p as f64 / n as f64;
            re[k * n + j] = ang.cos() * scale;
            im[k * n + j] = ang.sin() * scale;
        }
    }
    (re, im)
}

/// The DFT matrices for one image size, on a device and dtype: the data-consistency layer.
#[derive(Clone, Debug)]
pub struct DftDc {
    hr: Tensor,
    hi: Tensor,
    wr: Tensor,
    wi: Tensor,
}

impl DftDc {
    /// Matrices for (H, W) images in `dtype` (F32 for training, F64 for gradient checks).
    pub fn new(h: usize, w: usize, dtype: DType, device: &Device) -> candle_core::Result<Self> {
        let mk = |n: usize| -> candle_core::Result<(Tensor, Tensor)> {
            let (re, im) = centred_dft_matrix(n);
            Ok((
                Tensor::from_vec(re, (n, n), device)?.to_dtype(dtype)?,
                Tensor::from_vec(im, (n, n), device)?.to_dtype(dtype)?,
            ))
        };
        let (hr, hi) = mk(h)?;
        let (wr, wi) = mk(w)?;
        Ok(Self { hr, hi, wr, wi })
    }

    /// `M · x` for each (H, W) plane of x (M symmetric H×H): computed as `(xᵀ M)ᵀ` with one
    /// 2-D matmul over the whole batch.
    fn left(&self, m: &Tensor, x: &Tensor) -> candle_core::Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        x.transpose(2, 3)?
            .contiguous()?
            .reshape((n * c * w, h))?
            .matmul(m)?
            .reshape((n, c, w, h))?
            .transpose(2, 3)?
            .contiguous()
    }

    /// `x · M` for each plane (M W×W).
    fn right(&self, x: &Tensor, m: &Tensor) -> candle_core::Result<Tensor> {
        let (n, c, h, w) = x.dims4()?;
        x.contiguous()?.reshape((n * c * h, w))?.matmul(m)?.reshape((n, c, h, w))
    }

    /// Forward centred DFT of a real batch: `(Re K, Im K)` with `K = F_H f F_W`.
    pub fn fft_real(&self, f: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let af = self.left(&self.hr, f)?;
        let bf = self.left(&self.hi, f)?;
        let kr = (self.right(&af, &self.wr)? - self.right(&bf, &self.wi)?)?;
        let ki = (self.right(&af, &self.wi)? + self.right(&bf, &self.wr)?)?;
        Ok((kr, ki))
    }

    /// Real part of the inverse centred DFT: `Re(conj(F_H) Z conj(F_W))`.
    pub fn ifft_real(&self, zr: &Tensor, zi: &Tensor) -> candle_core::Result<Tensor> {
        let pr = (self.left(&self.hr, zr)? + self.left(&self.hi, zi)?)?;
        let pi = (self.left(&self.hr, zi)? - self.left(&self.hi, zr)?)?;
        self.right(&pr, &self.wr)? + self.right(&pi, &self.wi)?
    }

    /// Hard data consistency `Re(F⁻¹(F f·(1 − m) + y))` for a real batch f (N, C, H, W);
    /// `y_re`, `y_im` are the raw measured samples (zero where unmeasured) and `keep` the
    /// 0/1 mask, all broadcastable to f. Differentiable w.r.t. f.
    pub fn apply(
        &self,
        f: &Tensor,
        y_re: &Tensor,
        y_im: &Tensor,
        keep: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let (kr, ki) = self.fft_real(f)?;
        let drop = keep.affine(-1.0, 1.0)?;
        let kr = kr.broadcast_mul(&drop)?.broadcast_add(y_re)?;
        let ki = ki.broadcast_mul(&drop)?.broadcast_add(y_im)?;
        self.ifft_real(&kr, &ki)
    }
}

/// Complex tensors as (real, imaginary) pairs of equally shaped real tensors.
pub type Complex = (Tensor, Tensor);

impl DftDc {
    /// Forward centred DFT of a complex batch `g = gr + i·gi` (N, C, H, W):
    /// `F_H g = (A gr − B gi) + i(A gi + B gr) = P + iQ`, then
    /// `(P + iQ) F_W = (P A_W − Q B_W) + i(P B_W + Q A_W)`.
    pub fn fft_complex(&self, gr: &Tensor, gi: &Tensor) -> candle_core::Result<Complex> {
        let p = (self.left(&self.hr, gr)? - self.left(&self.hi, gi)?)?;
        let q = (self.left(&self.hr, gi)? + self.left(&self.hi, gr)?)?;
        let kr = (self.right(&p, &self.wr)? - self.right(&q, &self.wi)?)?;
        let ki = (self.right(&p, &self.wi)? + self.right(&q, &self.wr)?)?;
        Ok((kr, ki))
    }

    /// Inverse centred DFT of a complex batch: `conj(F_H) Z conj(F_W)`, with
    /// `conj(F_H) Z = (A Zr + B Zi) + i(A Zi − B Zr) = P + iQ` and
    /// `(P + iQ) conj(F_W) = (P A_W + Q B_W) + i(Q A_W − P B_W)`.
    pub fn ifft_complex(&self, zr: &Tensor, zi: &Tensor) -> candle_core::Result<Complex> {
        let p = (self.left(&self.hr, zr)? + self.left(&self.hi, zi)?)?;
        let q = (self.left(&self.hr, zi)? - self.left(&self.hi, zr)?)?;
        let xr = (self.right(&p, &self.wr)? + self.right(&q, &self.wi)?)?;
        let xi = (self.right(&q, &self.wr)? - self.right(&p, &self.wi)?)?;
        Ok((xr, xi))
    }

    /// Multi-coil hard data consistency for a complex image batch `f` (N, 2, H, W: real and
    /// imaginary channels) with maps `s` (N, C, H, W, Σ_c |s_c|² = 1 where the object is):
    /// ```text
    /// DC(f) = Σ_c conj(s_c) · F⁻¹( F(s_c f)·(1 − m) + y_c )
    /// ```
    /// `y` (N, C, H, W) holds the raw measured coil samples (zero where unmeasured), `keep`
    /// the 0/1 mask (broadcastable). One coil with `s = 1` is single-coil complex DC. The
    /// output is (N, 2, H, W); differentiable w.r.t. f.
    pub fn apply_coils(
        &self,
        f: &Tensor,
        sens: &(Tensor, Tensor),
        y: &(Tensor, Tensor),
        keep: &Tensor,
    ) -> candle_core::Result<Tensor> {
        let (sr, si) = sens;
        let fr = f.narrow(1, 0, 1)?;
        let fi = f.narrow(1, 1, 1)?;
        // Coil images g_c = s_c · f.
        let gr = (sr.broadcast_mul(&fr)? - si.broadcast_mul(&fi)?)?;
        let gi = (sr.broadcast_mul(&fi)? + si.broadcast_mul(&fr)?)?;
        let (kr, ki) = self.fft_complex(&gr, &gi)?;
        let drop = keep.affine(-1.0, 1.0)?;
        let kr = kr.broadcast_mul(&drop)?.broadcast_add(&y.0)?;
        let ki = ki.broadcast_mul(&drop)?.broadcast_add(&y.1)?;
        let (hr, hi) = self.ifft_complex(&kr, &ki)?;
        // Σ_c conj(s_c) h_c.
        let outr = ((sr * &hr)? + (si * &hi)?)?.sum_keepdim(1)?;
        let outi = ((sr * &hi)? - (si * &hr)?)?.sum_keepdim(1)?;
        Tensor::cat(&[&outr, &outi], 1)
    }
}
