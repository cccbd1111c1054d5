"""The shapes of a task: N21 (text or pair -> label/score), N2N (label per token), N2M (text -> text)."""
