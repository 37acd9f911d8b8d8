"""Retouching: repaint part of an image (a rectangle, a mask inside it) on the GPU workers.

A Django app above ``generation``: a retouch job is a generation job of a kind this app registers
in ``generation.kinds`` (``apps.RetouchConfig.ready``). ``services`` checks and stores a job's
pictures, ``runner`` paints it in the worker, ``views``/``serializers``/``pages``/``urls`` are its
endpoints and staff page (docs/retouch.md).

Pure image maths with numpy + Pillow, importable by the web tier (no torch):

- ``imaging``: decode uploads safely, masks, rectangles, working sizes, feathering, masked-content
  fills, LAB colour matching and the lossless composite;
- ``edges``: ``lineart_standard`` and Canny edge maps, without weights;
- ``frames``: zip archives of frames and masks (numeric order, safe names, bomb guards);
- ``options``: the retouch parameters of a ``JobRequest``, their defaults and bounds;
- ``tagger``: WD14-style tags with onnxruntime.

Only ``engine`` imports torch and diffusers, and only worker processes import it.
"""
