"""A small webhook tool server (aiohttp): POST JSON arguments in, plain text out.

    python examples/tools/webhook_booking.py --port 8089

`POST /book_table` with `{"name": "Ada", "party_size": 4, "time": "19:30"}` answers with a confirmation
sentence. When BOOKING_TOKEN is set, requests must carry `Authorization: Bearer <token>` (the tools
config sends it with `headers = { Authorization = "Bearer ${BOOKING_TOKEN}" }`).
"""

from __future__ import annotations

import argparse
import hmac
import os
from itertools import count

from aiohttp import web


def build_app(token: str | None = None) -> web.Application:
    numbers = count(101)

    async def book_table(request: web.Request) -> web.Response:
        if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
            return web.Response(status=401, text="Missing or wrong booking token.")
        try:
            args = await request.json()
            name = str(args["name"])
            party = int(args.get("party_size", 2))
            time = str(args["time"])
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400, text="Send name, party_size and time.")
        if party > 12:
            return web.Response(text=f"Sorry, we cannot seat {party} people; the largest table is for 12.")
        return web.Response(
            text=f"Booked a table for {party} at {time} under the name {name}, reference B{next(numbers)}."
        )

    app = web.Application()
    app.router.add_post("/book_table", book_table)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    opts = parser.parse_args()
    web.run_app(build_app(os.environ.get("BOOKING_TOKEN")), host=opts.host, port=opts.port)
