"""The shapes of a task: N21 (text or pair -> label/score or the best of several candidates, n21.py; two
spans' label, span_pairs.py), N2N (a label per unit: character tags in n2n.py, dependency arcs in
dependency.py, answer spans in spans.py), N2M (text -> text, n2m.py)."""
