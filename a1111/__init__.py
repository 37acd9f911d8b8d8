"""An AUTOMATIC1111-compatible subset, so existing clients (the retouch app's backend among them)
work against us: ``/sdapi/v1/img2img``, ``/sdapi/v1/options``, ``/controlnet/detect``,
``/tagger/v1/interrogate`` and ``/tagger/v1/interrogators`` (docs/retouch.md#a1111-compatible-api).

Thin adapters: ``parsing`` turns A1111 bodies into the same ``JobRequest`` and uploads that
``POST /api/v1/jobs`` takes, ``views`` call the same services and answer in A1111's shapes.
"""
