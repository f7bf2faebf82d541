"""Zero-shot MLLM baselines (docs/baselines.md): the upstream questions, spec options, and adapters
that run transformers-native models (``hf:``) and OpenAI-compatible endpoints through the one runner.

Modules: :mod:`~ovmer.baselines.prompts` (questions, byte for byte), :mod:`~ovmer.baselines.spec`
(``hf:…?key=value`` parsing), :mod:`~ovmer.baselines.hf` (transformers-native adapters).
"""
