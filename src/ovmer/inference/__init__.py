"""AffectGPT inference: one video (``describe``) or a whole benchmark split (``infer``)."""
