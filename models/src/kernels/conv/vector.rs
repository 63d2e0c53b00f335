//! The forward register tile of the f32 3×3 convolution, written once for both vector
//! widths: [`super::simd`] expands it with AVX2 intrinsics (`__m256`, 8 lanes) and
//! [`super::simd512`] with AVX-512 ones (`__m512`, 16 lanes), each inside its own
//! `#[target_feature]` function.
//!
//! Why a macro and not a trait over the register type: a generic body calls the intrinsics
//! from functions compiled without the target feature, and LLVM then keeps them as calls
//! (measured: the 1-MP width-48 denoise took 2.3× as long).

/// The body of a tile function: `out[r·ld + q] = Σ_{c,t} w_r(c, t) · x[c·plane + off_t + q]`
/// for r < A + B and q < 2·lanes, fma-accumulated from 0 over c, then t (the order every
/// width shares, so both give the same bits): rows r < A read `wa[(c·9 + t)·A + r]`, rows
/// A + r read `wb[(c·9 + t)·B + r]` (two consecutive packed blocks of output channels).
///
/// Arguments: the intrinsics `zero`, `load`, `set1`, `fmadd`, `store` of one register type
/// and its lane count, then the const row counts `A`, `B` and the expressions `x`, `plane`,
/// `c_in`, `offs`, `wa`, `wb`, `out`, `ld`. It expands to `unsafe` code: the caller's
/// SAFETY comment must cover the instruction set, the reads of `x` up to
/// `(c_in − 1)·plane + max(offs) + 2·lanes`, the weights and the writes to `out`.
macro_rules! register_tile {
    ($zero:ident, $load:ident, $set1:ident, $fmadd:ident, $store:ident, $lanes:expr;
     $a:expr, $b:expr; $x:expr, $plane:expr, $c_in:expr, $offs:expr, $wa:expr, $wb:expr, $out:expr, $ld:expr) => {{
        let mut acc_a = [[$zero(); 2]; $a];
        let mut acc_b = [[$zero(); 2]; $b];
        let (mut pa, mut pb) = ($wa, $wb);
        for c in 0..$c_in {
            let xc = $x.add(c * $plane);
            for &off in $offs {
                let s = xc.add(off);
                let v = [$load(s), $load(s.add($lanes))];
                for (r, a) in acc_a.iter_mut().enumerate() {
                    let wv = $set1(*pa.add(r));
                    a[0] = $fmadd(v[0], wv, a[0]);
                    a[1] = $fmadd(v[1], wv, a[1]);
                }
                for (r, a) in acc_b.iter_mut().enumerate() {
                    let wv = $set1(*pb.add(r));
                    a[0] = $fmadd(v[0], wv, a[0]);
                    a[1] = $fmadd(v[1], wv, a[1]);
                }
                pa = pa.add($a);
                pb = pb.add($b);
            }
        }
        for (r, a) in acc_a.iter().chain(&acc_b).enumerate() {
            $store($out.add(r * $ld), a[0]);
            $store($out.add(r * $ld + $lanes), a[1]);
        }
    }};
}

pub(crate) use register_tile;
