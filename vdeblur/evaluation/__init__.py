"""Evaluation-side code: classical baselines the network is judged against."""
