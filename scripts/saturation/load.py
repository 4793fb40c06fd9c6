"""Open-loop load for the saturation bench: a high-priority client at 16
requests/s and a low-priority one at 64 requests/s for SECONDS, each request
a plain chat completion; prints what each class got and the served rate.
Usage: load.py SECONDS"""

import asyncio, sys, time
import httpx2 as httpx
URL = "http://127.0.0.1:9420/v1/chat/completions"
async def one(client, key, stats):
    try:
        r = await client.post(URL, headers={"authorization": f"Bearer {key}"},
            json={"model": "chat", "messages": [{"role": "user", "content": "hi"}]}, timeout=15)
        stats[r.status_code] = stats.get(r.status_code, 0) + 1
    except Exception as e:
        stats["err"] = stats.get("err", 0) + 1
async def stream(client, key, rate, secs, stats):
    tasks = []
    start = time.monotonic()
    n = int(rate * secs)
    for i in range(n):
        await asyncio.sleep(max(0, start + i / rate - time.monotonic()))
        tasks.append(asyncio.create_task(one(client, key, stats)))
    await asyncio.gather(*tasks)
async def main(secs):
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(limits=limits) as client:
        high, low = {}, {}
        t = time.monotonic()
        await asyncio.gather(stream(client, "sk-sat-high-0001", 16, secs, high), stream(client, "sk-sat-low-00001", 64, secs, low))
        el = time.monotonic() - t
        served = high.get(200, 0) + low.get(200, 0)
        print(f"high {high} low {low} elapsed {el:.1f}s served/s {served/el:.1f} high-answered {high.get(200,0)/max(1,sum(high.values())):.3f}")
asyncio.run(main(float(sys.argv[1])))
