"""
How sure a comparison of two percentiles is: a bootstrap interval.

A p99 of a few thousand looks is one of their slowest few dozen, and which
looks land there is partly chance. Drawing each sample list again with
replacement, many times over, and taking the ratio of the two percentiles
each time shows how far the ratio moves on chance alone (Efron's bootstrap,
percentile interval). Looks taken one after another are not independent:
the machine runs faster or slower for seconds to minutes at a time, so
whole stretches of looks are slow together. The lists are therefore drawn
again in blocks of consecutive samples (the moving-block bootstrap), which
keeps those stretches whole; a block of one sample is Efron's plain
bootstrap. The benchmark prints the interval next to a target's verdict;
the verdict itself stays on the measured ratio.
"""

import random


def nearest_rank(ordered, fraction):
    """The nearest-rank percentile of an already sorted list (0 for none)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def block_draw(samples, block, rng):
    """`samples` drawn again: random runs of `block` consecutive samples, as many as it holds.

    Each run starts anywhere a whole run fits (the moving-block bootstrap);
    the last run is cut to the list's length. A list shorter than four
    blocks is drawn in runs of a quarter of its length.
    """
    block = max(1, min(block, len(samples) // 4))
    if block == 1:
        return rng.choices(samples, k=len(samples))
    starts = range(len(samples) - block + 1)
    drawn = []
    while len(drawn) < len(samples):
        start = rng.choice(starts)
        drawn.extend(samples[start:start + block])
    return drawn[:len(samples)]


def ratio_interval(numerator, denominator, fraction=0.99, confidence=0.90, rounds=1000, seed=0, block=1):
    """Bootstrap interval of percentile(numerator) / percentile(denominator).

    Args:
        numerator (list): Samples in the order taken (e.g. a loaded case's look times).
        denominator (list): Samples of the case compared against, in order.
        fraction (float): The percentile, 0-1.
        confidence (float): Share of the resampled ratios inside the interval.
        rounds (int): How many times both lists are drawn again.
        seed (int): Seed of the draws, so a report can be reproduced.
        block (int): Consecutive samples drawn together (1: each on its own).

    Returns:
        tuple: (low, high), or None when either list is empty.

    Raises:
        ValueError: On a fraction or confidence outside 0-1, fewer than one
            round or a block under one sample.
    """
    if not 0 <= fraction <= 1 or not 0 < confidence < 1 or rounds < 1 or block < 1:
        raise ValueError("fraction must be 0-1, confidence between 0 and 1, rounds and block at least 1")
    if not numerator or not denominator:
        return None
    rng = random.Random(seed)
    ratios = []
    for _ in range(rounds):
        top = nearest_rank(sorted(block_draw(numerator, block, rng)), fraction)
        bottom = nearest_rank(sorted(block_draw(denominator, block, rng)), fraction)
        ratios.append(top / bottom if bottom else float("inf"))
    ratios.sort()
    tail = (1 - confidence) / 2
    return nearest_rank(ratios, tail), nearest_rank(ratios, 1 - tail)
