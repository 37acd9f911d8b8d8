"""ComfyUI's HTTP and websocket API (docs/comfyui.md): a door of its own (``manage.py comfy_door``)
that compiles API-format graphs of ComfyUI's core nodes onto the venue's generation and retouch jobs."""
