"""Objectives in weight space: reward families, weight differences and Jozdien's patch (issue 14)."""
