"""Files of known run folders, and nothing else (see security.resolve_inside)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from ganfactory.console.context import console_of
from ganfactory.console.security import PathRefused, resolve_inside

_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
          ".webp": "image/webp", ".json": "application/json", ".jsonl": "text/plain", ".manifest": "text/plain",
          ".onnx": "application/octet-stream", ".pt": "application/octet-stream",
          ".safetensors": "application/octet-stream", ".log": "text/plain"}
_DOWNLOADS = {".onnx", ".pt", ".safetensors"}  # models: saved by the browser under their own name, never shown


async def run_file(request: Request) -> Response:
    run = console_of(request).run(request.path_params["rid"])
    relative = request.path_params["path"]
    try:
        path = resolve_inside(run.root, relative)
    except PathRefused:
        return PlainTextResponse("Refused: only files inside the run folder can be read.", status_code=403)
    except (FileNotFoundError, OSError):
        return PlainTextResponse(f"{relative} does not exist in this run (yet).", status_code=404)
    if path.suffix.lower() not in _TYPES:
        return PlainTextResponse("This kind of file is not served.", status_code=403)
    # no-cache: sample grids and masks are rewritten in place; the ETag keeps repeat loads cheap.
    download = path.name if path.suffix.lower() in _DOWNLOADS else None
    return FileResponse(path, media_type=_TYPES[path.suffix.lower()], headers={"Cache-Control": "no-cache"},
                        filename=download, content_disposition_type="attachment")


ROUTES = [Route("/runs/{rid}/files/{path:path}", run_file)]
