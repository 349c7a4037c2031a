"""Open-loop load at a fixed rate: sign-form POSTs, each on a new connection.

    python bench/pace.py --url http://127.0.0.1:8000/p/libya-detention/sign/ \\
        --rate 330 --duration 60 --tag s123

wrk drives the maximum rate: each connection sends its next request as soon as
the last is answered. A target like "330 signatures a second for 60 seconds
with p99 under 250 ms" needs the opposite: requests sent on a fixed schedule
whatever the server does, and each one's latency counted from when it was due
(so a stalled server cannot hide its stall by slowing the client down). wrk
cannot do that against gunicorn's sync workers without distorting the result:
to pace, it would connect first and then wait, and a sync worker that accepts
such a connection sits idle until the request comes. So this driver opens each
connection only when its request is due, as a browser would.

Each signer has an address of their own (X-Forwarded-For, trusted by the app
with TRUSTED_PROXY_COUNT=1 as behind a production proxy) and one of 500 mail
domains, so the app's rate limits see distinct people and hold nobody.

Prints one JSON line prefixed "BENCH-JSON ". Standard library only.
"""

import argparse
import asyncio
import json
import random
import time
from urllib.parse import quote, urlsplit

FIRST = ["Amira", "Zoë", "João", "Søren", "أمينة", "محمد", "Анна", "Ελένη", "प्रिया", "ሳባ", "伟", "지은", "Chidi", "Leïla"]
LAST = ["Haddad", "Müller", "O'Brien", "Ødegård", "الحداد", "Иванова", "Παπαδοπούλου", "शर्मा", "ተስፋዬ", "王", "김", "Okafor"]
COUNTRIES = ["GB", "DE", "FR", "IT", "ES", "TN", "LY", "NG", "US", "ER", "IN", "GR", "NL", "SE"]


def _percentile(sorted_values, p):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def sign_body(number, tag):
    rng = random.Random(number)
    fields = [
        ("first_name", rng.choice(FIRST)),
        ("last_name", rng.choice(LAST)),
        ("email", f"{tag}.{number}@mail{number % 500}.example"),
        ("country", rng.choice(COUNTRIES)),
        ("postcode", "SW1A 1AA" if number % 3 == 0 else ""),
        ("letter_consent", "on"),
    ]
    if number % 3 == 1:
        fields.append(("reply_consent", "on"))
    if number % 2 == 0:
        fields.append(("updates_consent", "on"))
    return "&".join(f"{name}={quote(value, safe='')}" for name, value in fields).encode()


async def run(args):
    url = urlsplit(args.url)
    host, port = url.hostname, url.port or 80
    total = int(args.rate * args.duration)
    interval = 1 / args.rate
    latencies_due, latencies_sent, statuses, errors = [], [], {}, {}
    in_flight = 0
    skipped = 0

    async def one(number, due):
        nonlocal in_flight
        body = sign_body(number, args.tag)
        # As a browser sends the form from the petition page: no cookie, no token.
        request = (
            f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Origin: {url.scheme}://{url.netloc}\r\nSec-Fetch-Site: same-origin\r\n"
            f"X-Forwarded-For: {args.ip_octet}.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode() + body
        sent = time.monotonic()
        writer = None
        try:
            # One deadline for the whole exchange: a wait_for per step made a
            # task per step, and this driver's CPU is taken from the server's.
            async with asyncio.timeout(args.timeout):
                reader, writer = await asyncio.open_connection(host, port)
                writer.write(request)
                status_line = await reader.readline()
                await reader.read()  # The server closes after answering (Connection: close).
            status = int(status_line.split()[1])
        except (OSError, asyncio.TimeoutError, IndexError, ValueError) as error:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
        else:
            statuses[status] = statuses.get(status, 0) + 1
            done = time.monotonic()
            if status < 400:
                latencies_due.append(done - due)
                latencies_sent.append(done - sent)
        finally:
            if writer is not None:
                writer.close()
            in_flight -= 1

    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    started_wall = time.monotonic() + 0.1
    tasks = []
    for number in range(total):
        due_loop = start + number * interval
        delay = due_loop - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight >= args.max_in_flight:
            # The server is so far behind that this many requests are open:
            # counted as errors rather than opening yet more sockets.
            skipped += 1
            continue
        in_flight += 1
        tasks.append(asyncio.create_task(one(number, started_wall + number * interval)))
    sending_seconds = time.monotonic() - started_wall
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started_wall
    latencies_due.sort()
    latencies_sent.sort()
    ok = sum(count for status, count in statuses.items() if status < 400)
    result = {
        "rate_target": args.rate,
        "duration_target_s": args.duration,
        "scheduled": total,
        "sending_s": round(sending_seconds, 3),
        "elapsed_s": round(elapsed, 3),
        "ok": ok,
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "errors": errors,
        "skipped_over_max_in_flight": skipped,
        "achieved_rate": ok / elapsed if elapsed else 0,
    }
    for name, values in (("due", latencies_due), ("sent", latencies_sent)):
        for p in (50, 90, 99, 99.9):
            value = _percentile(values, p)
            result[f"latency_{name}_p{str(p).replace('.', '_')}_ms"] = None if value is None else round(value * 1000, 2)
        result[f"latency_{name}_max_ms"] = round(values[-1] * 1000, 2) if values else None
    print("BENCH-JSON " + json.dumps(result), flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Open-loop, fixed-rate sign-form load.")
    parser.add_argument("--url", required=True, help="the sign form's address")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--duration", type=float, required=True, help="seconds of sending")
    parser.add_argument("--tag", required=True, help="makes this run's addresses unique")
    parser.add_argument("--ip-octet", type=int, default=20, help="first octet of the X-Forwarded-For addresses")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds before a request counts as failed")
    parser.add_argument("--max-in-flight", type=int, default=800, help="stay below the open-files limit")
    asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
