"""The baseline of the concurrent HTTP figure: a minimal FastAPI endpoint returning a constant,
served exactly as `impress-ledger serve` serves the ledger (api.serving: the same uvicorn
options, the same number of workers), on its own port.

    python -m bench.constant --port 8123 --workers 2
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI


def app() -> FastAPI:
    constant = FastAPI()

    @constant.get("/constant")
    async def answer() -> dict[str, str]:
        return {"status": "ok"}

    return constant


def main() -> None:
    import uvicorn

    from api.serving import uvicorn_options

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    uvicorn.run("bench.constant:app", factory=True, host="127.0.0.1", port=args.port,
                **uvicorn_options(args.workers))


if __name__ == "__main__":
    main()
