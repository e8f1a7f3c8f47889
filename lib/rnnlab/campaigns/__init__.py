"""Campaigns: a paper's experiment as a sweep spec (``spec``), run point by point through the training notebook
(``sweep``), extended in a second stage (``extend``), published into ``results/`` (``results``) and tabulated beside
the papers' numbers (``report``). This layer sits above ``train``: a campaign is many runs, ``train`` is one.
Two analyses of the published campaigns: the two music NLL conventions side by side (``convention_gap``) and how
large trained LSTMs' cell state grows (``cell_state``).
"""
