"""The kiosk page (``/``), the console page (``/operator``), their assets, the kiosk feed and pairing.

Pages and assets come from this package (``static/``); nothing is loaded from elsewhere. Korean is the
default language; ``?lang=en`` switches (the page's ``lang`` attribute is set here, its text by the
message catalogues in ``static/i18n``). In simulate mode the kiosk offers sample faces from
``LOCKERS_ASSETS`` (served at runtime as a kiosk camera's frames, never copied into the package: ``samples``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response, StreamingResponse

from controller.app.http.access import KIOSK_COOKIE, KIOSK_PAIR_PATH, Access
from controller.app.http.web.feed import FEED_QUEUE_SIZE, KioskFeed
from controller.app.http.web.samples import SAMPLE_PEOPLE, camera_frame, sample_frames

STATIC: Final = Path(__file__).parent / "static"
LANGUAGES: Final = ("ko", "en")
KIOSK_COOKIE_DAYS: Final = 365
INCLUDE: Final = re.compile(r"^[ \t]*<!-- include: ([\w-]+\.html) -->$", re.MULTILINE)


@dataclass(frozen=True)
class KioskSettings:
    """What the kiosk page is told: simulate mode, and where sample faces come from."""

    simulate: bool = False
    samples_root: Path | None = None
    people: tuple[str, ...] = field(default=SAMPLE_PEOPLE)

    def frames(self, person: str) -> list[Path]:
        """The sample pictures offered for ``person`` (empty when the assets are absent)."""
        return sample_frames(self.samples_root, person) if person in self.people else []


def page(name: str, request: Request) -> HTMLResponse:
    """A page with its ``lang`` attribute set from ``?lang=`` (Korean unless English is asked for)."""
    lang = request.query_params.get("lang", "ko")
    html = packaged_html(name)
    return HTMLResponse(html.replace('<html lang="ko"', f'<html lang="{lang if lang in LANGUAGES else "ko"}"', 1))


@functools.cache
def packaged_html(name: str) -> str:
    """A page as shipped in the package, its ``<!-- include: PART -->`` lines replaced by ``static/PART``.

    Read once: it does not change while the bank runs. Parts are what several pages show alike (the
    consoles' login form); like pages, they are never served as assets.
    """
    html = (STATIC / name).read_text(encoding="utf-8")
    return INCLUDE.sub(lambda found: (STATIC / found.group(1)).read_text(encoding="utf-8").rstrip("\n"), html)


def asset(name: str) -> FileResponse:
    """``GET /assets/{name}``: a script, stylesheet, catalogue or font of ``static/`` (never a page)."""
    path = (STATIC / name).resolve()
    if not path.is_relative_to(STATIC.resolve()) or not path.is_file() or path.suffix == ".html":
        raise HTTPException(404, "no such asset")
    return FileResponse(path, headers={"Cache-Control": "no-cache"})


def pages_router(access: Access, feed: KioskFeed, kiosk: KioskSettings, docs: bool) -> APIRouter:
    """The pages, their assets and the kiosk's own endpoints."""
    router = APIRouter(include_in_schema=False)
    kiosk_only = [Depends(access.kiosk_reader)]

    @router.get("/")
    def kiosk_page(request: Request) -> HTMLResponse:
        return page("kiosk.html", request)

    @router.get("/operator")
    def console_page(request: Request) -> HTMLResponse:
        return page("operator.html", request)

    router.add_api_route("/assets/{name:path}", asset, methods=["GET"])

    @router.get(KIOSK_PAIR_PATH)
    def pair(token: str) -> RedirectResponse:
        """Remember the kiosk's credential in this browser (HttpOnly cookie), then show the kiosk."""
        if not access.is_kiosk(token):
            raise HTTPException(401, "not the kiosk's token (api.kiosk_token_sha256)")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(KIOSK_COOKIE, token, max_age=KIOSK_COOKIE_DAYS * 86400, httponly=True,
                            secure=access.settings.cookie_secure, samesite="strict")
        return response

    @router.get("/kiosk/setup", dependencies=kiosk_only)
    def setup() -> dict[str, Any]:
        counts = {p: len(kiosk.frames(p)) for p in kiosk.people} if kiosk.simulate else {}
        return {"simulate": kiosk.simulate, "samples": [{"id": p, "frames": n} for p, n in counts.items() if n]}

    @router.get("/kiosk/samples/{person}/{index}", dependencies=kiosk_only)
    def sample(person: str, index: int) -> Response:
        frames = kiosk.frames(person) if kiosk.simulate else []
        if not 0 <= index < len(frames):
            raise HTTPException(404, "no such sample picture (simulate mode with LOCKERS_ASSETS only)")
        # Framed as the kiosk camera sees a person, so the real gates accept it (``samples``).
        return Response(camera_frame(frames[index]), media_type="image/jpeg")

    @router.get("/kiosk/feed", dependencies=kiosk_only)
    async def kiosk_feed(request: Request) -> StreamingResponse:
        return StreamingResponse(_stream(feed, request), media_type="text/event-stream")

    if docs:

        @router.get("/docs")
        def api_docs(request: Request) -> HTMLResponse:
            return page("docs.html", request)

    return router


async def _stream(feed: KioskFeed, request: Request) -> AsyncIterator[str]:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(FEED_QUEUE_SIZE)
    feed.clients.add(queue)
    try:
        yield ": connected\n\n"
        while not await request.is_disconnected():
            try:
                message = await asyncio.wait_for(queue.get(), timeout=15.0)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield f"event: {message['kind']}\ndata: {json.dumps(message)}\n\n"
    finally:
        feed.clients.discard(queue)
