"""Candidate themes (`lurker themes`): LDA sweeps on a corpus snapshot, scored and summarised.

One module per job: `corpus` (reads snapshot documents), `dictionary` (vocabulary, phrases,
bag-of-words files), `seeding` (eta priors from concept keywords), `sweep` (fits, one per
process), `coherence`, `stability` and `recommend` (pure scores), `agreement` (AMI, pure),
`summaries` (per-topic figures), `report` (HTML + SVG), `run` (the whole stage) and
`settings` (config/themes.toml + the workspace's [themes] table).
"""
