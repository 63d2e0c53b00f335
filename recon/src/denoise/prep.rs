//! The photo pre-processing that training and inference share, so that they cannot drift
//! apart: channels matched to the model ([`to_channels`]), values centred on 0
//! (`[0, 1] → [−0.5, 0.5]`, [`centred`], [`uncentred`]), and the reflect padding to a
//! multiple of 32 that the U-Net's five poolings need ([`pad_reflect`], [`padded`]).

use ndarray::{Array3, Axis};

/// Value subtracted from `[0, 1]` photo values before the network, added back after.
pub const CENTRE: f32 = 0.5;

/// `(C', H, W)` with `channels` channels: grey is repeated into RGB, RGB becomes BT.601 luma;
/// `channels = 0` keeps the image's own.
pub fn to_channels(x: &Array3<f32>, channels: usize) -> Array3<f32> {
    let c = x.dim().0;
    match (c, channels) {
        (a, b) if a == b || b == 0 => x.clone(),
        (1, n) => ndarray::concatenate(Axis(0), &vec![x.view(); n]).expect("same shapes"), // ok: equal views
        (_, 1) => {
            let (r, g, b) = (x.index_axis(Axis(0), 0), x.index_axis(Axis(0), 1), x.index_axis(Axis(0), 2));
            ndarray::Zip::from(&r)
                .and(&g)
                .and(&b)
                .map_collect(|&r, &g, &b| 0.299 * r + 0.587 * g + 0.114 * b)
                .insert_axis(Axis(0))
        }
        _ => x.clone(),
    }
}

/// A `[0, 1]` photo as the network sees it: `channels` channels ([`to_channels`]), values
/// minus [`CENTRE`].
pub fn centred(photo: &Array3<f32>, channels: usize) -> Array3<f32> {
    to_channels(photo, channels).mapv(|v| v - CENTRE)
}

/// Network values back to `[0, 1]` photo values.
pub fn uncentred(x: &Array3<f32>) -> Array3<f32> {
    x.mapv(|v| v + CENTRE)
}

/// Spatial sizes are padded to a multiple of this.
pub const MULTIPLE: usize = 32;

/// `x` reflect-padded at the bottom and right to the next multiple of [`MULTIPLE`].
pub fn padded(x: &Array3<f32>) -> Array3<f32> {
    let (_, h, w) = x.dim();
    pad_reflect(x, h.div_ceil(MULTIPLE) * MULTIPLE, w.div_ceil(MULTIPLE) * MULTIPLE)
}

/// `x` reflect-padded (mirror without repeating the edge, like numpy's `reflect`) at the
/// bottom and right to `h × w`; edges shorter than the padding fold back repeatedly.
pub fn pad_reflect(x: &Array3<f32>, h: usize, w: usize) -> Array3<f32> {
    let (c, h0, w0) = x.dim();
    if (h0, w0) == (h, w) {
        return x.clone();
    }
    let idx = models::kernels::reflect_index;
    Array3::from_shape_fn((c, h, w), |(k, i, j)| x[[k, idx(i, h0), idx(j, w0)]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centring_round_trips_and_padding_reaches_a_multiple_of_32() {
        let photo = Array3::from_shape_fn((1, 33, 5), |(_, i, j)| (i * 5 + j) as f32 / 256.0);
        let x = centred(&photo, 3);
        assert_eq!(x.dim(), (3, 33, 5));
        assert_eq!(uncentred(&x).index_axis(Axis(0), 2), photo.index_axis(Axis(0), 0));
        let p = padded(&x);
        assert_eq!(p.dim(), (3, 64, 32));
        assert_eq!(p.slice(ndarray::s![.., ..33, ..5]), x);
    }
}
