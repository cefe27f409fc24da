//! Feldman verifiable secret sharing on BLS12-381: a dealer's random
//! polynomial, its commitments in G2, share evaluation at `x = index + 1`
//! (the points `federation::tbs` interpolates at) and the share check.

use bls12_381::{G2Affine, G2Projective, Scalar};
use group::ff::Field;
use rand::{CryptoRng, RngCore};

use super::GuardianIndex;

/// A dealer's secret polynomial `f(x) = a_0 + a_1 x + ... + a_{t-1} x^{t-1}`
/// for one denomination; `a_0` is the dealer's contribution to the key.
pub struct Polynomial {
    coefficients: Vec<Scalar>,
}

impl Polynomial {
    /// A uniformly random polynomial of degree `threshold - 1`.
    pub fn random(threshold: usize, rng: &mut (impl RngCore + CryptoRng)) -> Self {
        Polynomial {
            coefficients: (0..threshold).map(|_| Scalar::random(&mut *rng)).collect(),
        }
    }

    /// `f(index + 1)`: the share guardian `index` receives.
    pub fn share_for(&self, index: GuardianIndex) -> Scalar {
        horner(
            &self.coefficients,
            index.point(),
            Scalar::zero(),
            |acc, x| acc * x,
        )
    }

    /// The Feldman commitments `C_k = a_k * G2`.
    pub fn commit(&self) -> Vec<G2Affine> {
        let generator = G2Projective::generator();
        let points: Vec<G2Projective> = self.coefficients.iter().map(|a| generator * a).collect();
        let mut affine = vec![G2Affine::identity(); points.len()];
        G2Projective::batch_normalize(&points, &mut affine);
        affine
    }
}

/// `sum_k C_k * x^k` for `x = index + 1`: the public key of the share a
/// polynomial with commitments `commitments` gives guardian `index`.
pub fn evaluate_commitments(commitments: &[G2Affine], index: GuardianIndex) -> G2Projective {
    let zero = G2Projective::identity();
    let coefficients: Vec<G2Projective> = commitments.iter().map(G2Projective::from).collect();
    horner(&coefficients, index.point(), zero, |acc, x| acc * x)
}

/// Whether `share` is the evaluation at guardian `index` of the polynomial
/// behind `commitments`: `share * G2 == sum_k C_k * (index + 1)^k`.
pub fn verify_share(commitments: &[G2Affine], index: GuardianIndex, share: &Scalar) -> bool {
    G2Projective::generator() * share == evaluate_commitments(commitments, index)
}

/// Adds several dealers' commitment vectors coefficient by coefficient: the
/// commitments of the sum polynomial, whose constant term is the joint key.
pub fn sum_commitments<'a>(
    threshold: usize,
    dealers: impl Iterator<Item = &'a [G2Affine]>,
) -> Vec<G2Affine> {
    let mut sum = vec![G2Projective::identity(); threshold];
    for commitments in dealers {
        for (acc, c) in sum.iter_mut().zip(commitments) {
            *acc += c;
        }
    }
    let mut affine = vec![G2Affine::identity(); threshold];
    G2Projective::batch_normalize(&sum, &mut affine);
    affine
}

/// Horner's rule from the highest coefficient down, generic over scalars and
/// points: `((c_{t-1} x + c_{t-2}) x + ...) x + c_0`.
fn horner<T: Copy + std::ops::Add<Output = T>>(
    coefficients: &[T],
    x: Scalar,
    zero: T,
    mul: impl Fn(T, Scalar) -> T,
) -> T {
    coefficients
        .iter()
        .rev()
        .fold(zero, |acc, &c| mul(acc, x) + c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use group::Curve;
    use rand::rngs::OsRng;

    #[test]
    fn shares_verify_against_their_commitments_and_others_do_not() {
        let poly = Polynomial::random(3, &mut OsRng);
        let commitments = poly.commit();
        for i in 0..4 {
            let index = GuardianIndex(i);
            assert!(verify_share(&commitments, index, &poly.share_for(index)));
            let wrong = poly.share_for(index) + Scalar::one();
            assert!(!verify_share(&commitments, index, &wrong));
        }
        // A share for one guardian is not valid for another.
        assert!(!verify_share(
            &commitments,
            GuardianIndex(1),
            &poly.share_for(GuardianIndex(0))
        ));
    }

    #[test]
    fn commitment_evaluation_matches_share_times_generator() {
        let poly = Polynomial::random(4, &mut OsRng);
        let commitments = poly.commit();
        let index = GuardianIndex(6);
        assert_eq!(
            evaluate_commitments(&commitments, index).to_affine(),
            (G2Projective::generator() * poly.share_for(index)).to_affine()
        );
    }
}
