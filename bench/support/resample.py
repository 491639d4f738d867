"""
How sure a comparison of two percentiles is: a bootstrap interval.

A p99 of a few thousand looks is one of their slowest few dozen, and which
looks land there is partly chance. Drawing each sample list again with
replacement, many times over, and taking the ratio of the two percentiles
each time shows how far the ratio moves on chance alone (Efron's bootstrap,
percentile interval). The benchmark prints it next to a target's verdict;
the verdict itself stays on the measured ratio.
"""

import random


def nearest_rank(ordered, fraction):
    """The nearest-rank percentile of an already sorted list (0 for none)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def ratio_interval(numerator, denominator, fraction=0.99, confidence=0.90, rounds=1000, seed=0):
    """Bootstrap interval of percentile(numerator) / percentile(denominator).

    Args:
        numerator (list): Samples (e.g. a loaded case's look times).
        denominator (list): Samples of the case compared against.
        fraction (float): The percentile, 0-1.
        confidence (float): Share of the resampled ratios inside the interval.
        rounds (int): How many times both lists are drawn again.
        seed (int): Seed of the draws, so a report can be reproduced.

    Returns:
        tuple: (low, high), or None when either list is empty.

    Raises:
        ValueError: On a fraction or confidence outside 0-1, or fewer than one round.
    """
    if not 0 <= fraction <= 1 or not 0 < confidence < 1 or rounds < 1:
        raise ValueError("fraction must be 0-1, confidence between 0 and 1, rounds at least 1")
    if not numerator or not denominator:
        return None
    draw = random.Random(seed).choices
    ratios = []
    for _ in range(rounds):
        top = nearest_rank(sorted(draw(numerator, k=len(numerator))), fraction)
        bottom = nearest_rank(sorted(draw(denominator, k=len(denominator))), fraction)
        ratios.append(top / bottom if bottom else float("inf"))
    ratios.sort()
    tail = (1 - confidence) / 2
    return nearest_rank(ratios, tail), nearest_rank(ratios, 1 - tail)
