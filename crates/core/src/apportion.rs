//! The largest-remainder (Hamilton) apportionment of DOMAIN.md.
//!
//! Every split of a whole number into parts in adpool goes through [`apportion`], so that parts
//! always sum exactly to the total and no module invents its own rounding rule.

use thiserror::Error;

/// Why a split could not be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApportionError {
    /// Every weight is zero (or there are none), so there is no proportion to split by.
    #[error("cannot apportion {total} over weights that are all zero")]
    AllZeroWeights {
        /// The total that was to be split.
        total: i64,
    },
}

/// Splits `total` into `weights.len()` whole parts proportional to `weights`.
///
/// The largest-remainder method: each part gets the floor of its exact quota
/// `total * w_i / sum(w)` (computed in `i128`, no floats); the units left over go one each to the
/// parts with the largest remainders, ties to the larger weight, then to the earlier index.
/// A negative total is split as the mirror image of its absolute value, so refunds split the
/// same way as charges.
///
/// # Errors
/// [`ApportionError::AllZeroWeights`] when there are no weights or all are zero; callers that
/// want an even split in that case use [`apportion_or_even`].
///
/// ```
/// use adpool_core::apportion;
/// assert_eq!(apportion(100, &[3333, 3333, 3334]).unwrap(), vec![33, 33, 34]);
/// assert_eq!(apportion(7, &[0, 1, 1]).unwrap(), vec![0, 4, 3]);
/// ```
pub fn apportion(total: i64, weights: &[u64]) -> Result<Vec<i64>, ApportionError> {
    let weight_sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if weight_sum == 0 {
        return Err(ApportionError::AllZeroWeights { total });
    }
    if total < 0 {
        // Mirror: split |total| and negate, so -x splits exactly like x.
        let positive = apportion_non_negative(total.unsigned_abs(), weights, weight_sum);
        return Ok(positive.into_iter().map(|p| -(p as i128) as i64).collect());
    }
    Ok(
        apportion_non_negative(total.unsigned_abs(), weights, weight_sum)
            .into_iter()
            .map(|p| p as i64)
            .collect(),
    )
}

/// Like [`apportion`], but splits evenly (by the same rule, with equal weights) when every weight
/// is zero, e.g. a month whose daily forecast is all zero. An empty `weights` gives an empty
/// result when `total` is 0 and an error otherwise.
pub fn apportion_or_even(total: i64, weights: &[u64]) -> Result<Vec<i64>, ApportionError> {
    match apportion(total, weights) {
        Err(ApportionError::AllZeroWeights { .. }) if !weights.is_empty() => {
            apportion(total, &vec![1; weights.len()])
        }
        Err(ApportionError::AllZeroWeights { .. }) if total == 0 => Ok(Vec::new()),
        other => other,
    }
}

fn apportion_non_negative(total: u64, weights: &[u64], weight_sum: u128) -> Vec<u64> {
    let total = u128::from(total);
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut assigned: u128 = 0;
    for (index, &weight) in weights.iter().enumerate() {
        let numerator = total * u128::from(weight);
        let floor = numerator / weight_sum;
        assigned += floor;
        parts.push(floor as u64);
        remainders.push((numerator % weight_sum, weight, index));
    }
    let leftover = (total - assigned) as usize;
    // Largest remainder first; ties to the larger weight, then to the earlier index.
    remainders.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    for &(_, _, index) in remainders.iter().take(leftover) {
        parts[index] += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples_from_the_domain() {
        assert_eq!(
            apportion(10_000, &[1, 1, 1]).unwrap(),
            vec![3334, 3333, 3333]
        );
        // Group 1 40%, Group 2 35%, Group 3 25% in basis points.
        assert_eq!(
            apportion(1_000_001, &[4000, 3500, 2500]).unwrap(),
            vec![400_001, 350_000, 250_000]
        );
        assert_eq!(apportion(0, &[5, 5]).unwrap(), vec![0, 0]);
    }

    #[test]
    fn ties_go_to_the_larger_weight_then_the_earlier_index() {
        // quotas 1.5 and 1.5 of weight 1 each -> earlier index wins.
        assert_eq!(apportion(3, &[1, 1]).unwrap(), vec![2, 1]);
        // remainders equal (1/3 each of 2 units? no): 1 over weights [1,2,1] -> quotas .25,.5,.25
        assert_eq!(apportion(1, &[1, 2, 1]).unwrap(), vec![0, 1, 0]);
        // Equal remainders with different weights: total 1 over [2, 4, 2, 4] quotas 1/6,2/6,1/6,2/6
        assert_eq!(apportion(1, &[2, 4, 2, 4]).unwrap(), vec![0, 1, 0, 0]);
    }

    #[test]
    fn all_zero_weights_are_an_error_unless_even_split_is_chosen() {
        assert_eq!(
            apportion(10, &[0, 0]),
            Err(ApportionError::AllZeroWeights { total: 10 })
        );
        assert_eq!(
            apportion(10, &[]),
            Err(ApportionError::AllZeroWeights { total: 10 })
        );
        assert_eq!(apportion_or_even(10, &[0, 0, 0]).unwrap(), vec![4, 3, 3]);
        assert_eq!(apportion_or_even(0, &[]).unwrap(), Vec::<i64>::new());
        assert!(apportion_or_even(5, &[]).is_err());
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        let parts = apportion(i64::MAX, &[u64::MAX, u64::MAX, 1]).unwrap();
        assert_eq!(
            parts.iter().map(|&p| i128::from(p)).sum::<i128>(),
            i128::from(i64::MAX)
        );
        let parts = apportion(i64::MIN, &[1, 1]).unwrap();
        assert_eq!(
            parts.iter().map(|&p| i128::from(p)).sum::<i128>(),
            i128::from(i64::MIN)
        );
    }

    fn weights() -> impl Strategy<Value = Vec<u64>> {
        prop::collection::vec(
            prop_oneof![Just(0u64), 0u64..20, 0u64..1_000_000, any::<u64>()],
            1..40,
        )
    }

    proptest! {
        #[test]
        fn parts_sum_exactly_to_the_total(total in any::<i64>(), weights in weights()) {
            prop_assume!(weights.iter().any(|&w| w > 0));
            let parts = apportion(total, &weights).unwrap();
            prop_assert_eq!(parts.len(), weights.len());
            prop_assert_eq!(parts.iter().map(|&p| i128::from(p)).sum::<i128>(), i128::from(total));
        }

        #[test]
        fn every_part_is_within_one_of_its_exact_quota(total in any::<i64>(), weights in weights()) {
            let sum: i128 = weights.iter().map(|&w| i128::from(w)).sum();
            prop_assume!(sum > 0);
            let parts = apportion(total, &weights).unwrap();
            for (part, &weight) in parts.iter().zip(&weights) {
                // |part - total*w/sum| < 1  <=>  |part*sum - total*w| < sum (exact in integers)
                let scaled = i128::from(*part) * sum - i128::from(total) * i128::from(weight);
                prop_assert!(scaled.abs() < sum, "part {part} weight {weight} total {total}");
            }
        }

        #[test]
        fn a_zero_weight_gets_zero(total in any::<i64>(), weights in weights()) {
            prop_assume!(weights.iter().any(|&w| w > 0));
            let parts = apportion(total, &weights).unwrap();
            for (part, &weight) in parts.iter().zip(&weights) {
                if weight == 0 { prop_assert_eq!(*part, 0); }
            }
        }

        #[test]
        fn all_zero_weights_are_an_error(total in any::<i64>(), len in 0usize..20) {
            prop_assert_eq!(apportion(total, &vec![0; len]), Err(ApportionError::AllZeroWeights { total }));
        }

        #[test]
        fn even_fallback_splits_all_zero_weights_evenly(total in any::<i64>(), len in 1usize..20) {
            let parts = apportion_or_even(total, &vec![0; len]).unwrap();
            prop_assert_eq!(parts.iter().map(|&p| i128::from(p)).sum::<i128>(), i128::from(total));
            let max = parts.iter().max().copied().unwrap_or(0);
            let min = parts.iter().min().copied().unwrap_or(0);
            prop_assert!(max - min <= 1);
        }

        #[test]
        fn negative_totals_mirror_positive_ones(total in 0i64..i64::MAX, weights in weights()) {
            prop_assume!(weights.iter().any(|&w| w > 0));
            let positive = apportion(total, &weights).unwrap();
            let negative = apportion(-total, &weights).unwrap();
            prop_assert_eq!(negative, positive.iter().map(|p| -p).collect::<Vec<_>>());
        }

        #[test]
        fn larger_weight_never_gets_less(total in 0i64..1_000_000_000, weights in weights()) {
            prop_assume!(weights.iter().any(|&w| w > 0));
            let parts = apportion(total, &weights).unwrap();
            for i in 0..weights.len() {
                for j in 0..weights.len() {
                    if weights[i] > weights[j] { prop_assert!(parts[i] >= parts[j]); }
                }
            }
        }

        #[test]
        fn scaling_the_weights_does_not_change_the_split(total in any::<i64>(), weights in prop::collection::vec(0u64..1_000_000, 1..20), factor in 1u64..1000) {
            prop_assume!(weights.iter().any(|&w| w > 0));
            let scaled: Vec<u64> = weights.iter().map(|w| w * factor).collect();
            prop_assert_eq!(apportion(total, &weights).unwrap(), apportion(total, &scaled).unwrap());
        }
    }

    /// "The result does not depend on the platform": pinned vectors computed once; any change
    /// of arithmetic (floats, word size, sort stability) would move them.
    #[test]
    fn pinned_results_are_platform_independent() {
        assert_eq!(
            apportion(1_000_000, &[3333, 3333, 3334]).unwrap(),
            vec![333_300, 333_300, 333_400]
        );
        assert_eq!(
            apportion(31, &[7, 0, 11, 13, 5]).unwrap(),
            vec![6, 0, 10, 11, 4]
        );
        assert_eq!(
            apportion(-31, &[7, 0, 11, 13, 5]).unwrap(),
            vec![-6, 0, -10, -11, -4]
        );
        assert_eq!(apportion(2, &[1, 1, 1]).unwrap(), vec![1, 1, 0]);
    }
}
