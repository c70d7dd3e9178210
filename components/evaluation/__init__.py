"""The Evaluator's pieces: RecGen's TFMA metrics, the eval configs with blessing thresholds,
item statistics for the diversity metrics, and ``RecGenEvaluator`` (TFX's Evaluator plus the
item catalog)."""
