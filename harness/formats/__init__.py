"""The shapes of a task: N21 (text or pair -> label/score, n21.py), N2N (a label per unit: character tags in
n2n.py, dependency arcs in dependency.py, answer spans in spans.py), N2M (text -> text)."""
