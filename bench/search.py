"""Search: indexing throughput and query latency of the embedded engine (and, given a server,
Elasticsearch) on synthetic Vietnamese records.

    .venv/bin/python bench/search.py [--sizes 10000,100000] [--million] [--queries 300]
                                     [--elastic http://localhost:9200]

Generates documents as the records hold them (deterministic seed): citizens' names, addresses,
procedure phrases, document numbers, with full diacritics, 8 documents per person on average.
Each index is built with ``rebuild`` (the bulk path) on disk, then timed end to end through
``SearchIndex.search`` (20 hits, documents loaded, snippets made):

(a) accented queries ("Nguyễn Thị Hương", "quyền sử dụng đất", a street), (b) the same
    folded ("nguyen thi huong"), (c) a query with the owner and document type filters,
(d) the per-person reuse lookup: a filters-only query, every ready document of one owner
    of one type (records/reuse.py).

Also a single-document ``upsert`` (the outbox publisher's write, committed and visible).
Targets (the search issue): p95 <= 20 ms at 1M documents on the embedded engine; the reuse
lookup <= 10 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # a script, not a package: reach the repository's modules

from records.ports import IndexedDocument, SearchIndex, SearchQuery  # noqa: E402
from search.tantivy_index import TantivyIndex  # noqa: E402
from search.text import fold  # noqa: E402

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Đoàn", "Lương")
MIDDLE = ("Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Xuân", "Thu", "Kim",
          "Công", "Bảo", "Gia")
GIVEN = ("Hương", "Hùng", "Lan", "Mai", "Dũng", "Tuấn", "Hải", "Hà", "Long", "Phương", "Thảo",
         "Đạt", "Nhung", "Yến", "Trang", "Khánh", "Sơn", "Tâm", "Thủy", "Cường", "Nhân", "Nhận",
         "Quyên", "Hiếu", "Nghĩa", "Oanh", "Bình", "Vy", "Tú", "Lộc")
STREETS = ("Trần Hưng Đạo", "Lê Lợi", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt",
           "Điện Biên Phủ", "Bạch Đằng", "Hùng Vương", "Quang Trung", "Lê Thánh Tông")
WARDS = ("Hồng Gai", "Bãi Cháy", "Cao Xanh", "Hà Khẩu", "Cẩm Thủy", "Quang Hanh", "Yên Thanh",
         "Đông Mai", "Hòa Lạc", "Tiền An")
DISTRICTS = ("Hạ Long", "Cẩm Phả", "Uông Bí", "Móng Cái", "Đông Triều", "Quảng Yên",
             "Tiên Yên", "Vân Đồn")
TYPES = {  # document_type: (title, procedure phrase)
    "gcn_qsdd": ("Giấy chứng nhận quyền sử dụng đất",
                 "quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất"),
    "cccd": ("Căn cước công dân", "căn cước công dân do Cục Cảnh sát quản lý hành chính cấp"),
    "khai_sinh": ("Giấy khai sinh", "đăng ký khai sinh tại Ủy ban nhân dân cấp xã"),
    "ket_hon": ("Giấy chứng nhận kết hôn", "đăng ký kết hôn có yếu tố nước ngoài"),
    "gp_xay_dung": ("Giấy phép xây dựng", "cấp giấy phép xây dựng nhà ở riêng lẻ"),
    "hkd": ("Giấy chứng nhận đăng ký hộ kinh doanh", "đăng ký thành lập hộ kinh doanh"),
    "hd_mua_ban": ("Hợp đồng mua bán nhà ở", "chuyển nhượng quyền sử dụng đất và nhà ở"),
    "bien_nhan": ("Giấy tiếp nhận hồ sơ và hẹn trả kết quả", "tiếp nhận hồ sơ thủ tục hành chính"),
    "qd_giao_dat": ("Quyết định giao đất", "giao đất, cho thuê đất, chuyển mục đích sử dụng đất"),
    "bien_dong": ("Đơn đăng ký biến động đất đai", "đăng ký biến động đất đai, tài sản gắn liền"),
    "xac_nhan_cu_tru": ("Giấy xác nhận thông tin về cư trú", "xác nhận thông tin về cư trú"),
    "ly_lich_tu_phap": ("Phiếu lý lịch tư pháp", "cấp phiếu lý lịch tư pháp số 1"),
}
FILLER = (
    "Căn cứ Luật Đất đai ngày 18 tháng 01 năm 2024.",
    "Căn cứ Nghị định số 101/2024/NĐ-CP quy định về điều tra cơ bản đất đai.",
    "Căn cứ Nghị định số 61/2018/NĐ-CP về thực hiện cơ chế một cửa, một cửa liên thông.",
    "Xét đề nghị của Trưởng phòng Tài nguyên và Môi trường.",
    "Hồ sơ đã được kiểm tra đầy đủ, hợp lệ theo quy định.",
    "Người sử dụng đất có trách nhiệm thực hiện đúng mục đích sử dụng đất.",
    "Các cơ quan, tổ chức và cá nhân có liên quan chịu trách nhiệm thi hành quyết định này.",
    "Bản sao có giá trị sử dụng thay cho bản chính trong các giao dịch.",
)
ACCENTED_PHRASES = ("quyền sử dụng đất", "giấy phép xây dựng", "hộ kinh doanh", "biến động đất đai",
                    "lý lịch tư pháp", "đăng ký kết hôn", "thông tin về cư trú", "nhà ở riêng lẻ")
T0 = datetime(2023, 1, 1, tzinfo=UTC)
PER_OWNER = 8


def owner_of(n: int) -> str:
    return f"0{n // PER_OWNER % 96 + 1:02d}{190000000 + n // PER_OWNER:09d}"


def person(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def address(rng: random.Random) -> str:
    return (f"số {rng.randint(1, 300)} đường {rng.choice(STREETS)}, phường {rng.choice(WARDS)}, "
            f"thành phố {rng.choice(DISTRICTS)}, tỉnh Quảng Ninh")


def make_doc(n: int, seed: int) -> IndexedDocument:
    """The ``n``-th document, the same for the same seed, whatever the others."""
    rng = random.Random(seed * 1_000_003 + n)  # noqa: S311 - reproducible test data
    owner_rng = random.Random(seed * 7_919 + n // PER_OWNER)  # noqa: S311 - one name a person
    name, home = person(owner_rng), address(owner_rng)
    document_type = rng.choice(list(TYPES))
    title, phrase = TYPES[document_type]
    body = [f"{title} cấp cho ông (bà) {name}, sinh năm {rng.randint(1945, 2005)}, "
            f"thường trú tại {home}.", f"Nội dung: {phrase}.",
            f"Thửa đất số {rng.randint(1, 900)}, tờ bản đồ số {rng.randint(1, 60)}, diện tích "
            f"{rng.randint(40, 400)} m², tại {address(rng)}.",
            *rng.sample(FILLER, 3), f"Người nhận thay: {person(rng)}."]
    return IndexedDocument(
        doc_id=f"document:{n:08d}", version=1, kind=rng.choice(("document",) * 3 + ("result",)),
        owner_id=owner_of(n), dossier_code=f"000.00.15.H40-{n // 3:08d}",
        procedure_code=f"1.00{rng.randint(1000, 1030)}", document_type=document_type,
        status=rng.choice(("ready",) * 6 + ("issued", "revoked")),
        branch_code=f"MC{rng.randint(1, 20):02d}", agency_code=f"AG{rng.randint(1, 10):02d}",
        created_at=T0 + timedelta(minutes=rng.randint(0, 3 * 365 * 24 * 60)),
        issued=date(2020, 1, 1) + timedelta(days=rng.randint(0, 1500)), title=title,
        text=" ".join(body))


def documents(count: int, seed: int) -> Iterator[IndexedDocument]:
    return (make_doc(n, seed) for n in range(count))


@dataclass(frozen=True, kw_only=True)
class Row:
    engine: str
    docs: int
    measure: str
    runs: int
    p50_ms: float | None = None
    p95_ms: float | None = None
    rate: str = ""
    hits: float | None = None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(engine: str, docs: int, measure: str, queries: list[SearchQuery],
          index: SearchIndex) -> Row:
    for query in queries[:20]:  # warm the caches
        index.search(query)
    seconds, totals = [], []
    for query in queries:
        start = time.perf_counter()
        page = index.search(query)
        seconds.append(time.perf_counter() - start)
        totals.append(page.total)
    return Row(engine=engine, docs=docs, measure=measure, runs=len(queries),
               p50_ms=1000 * statistics.median(seconds), p95_ms=1000 * percentile(seconds, 0.95),
               hits=statistics.mean(totals))


def query_sets(count: int, seed: int, runs: int) -> dict[str, list[SearchQuery]]:
    rng = random.Random(seed + 1)  # noqa: S311 - reproducible test data
    samples = [make_doc(rng.randrange(count), seed) for _ in range(runs)]
    accented = [rng.choice((d.text.split(", sinh")[0].split("bà) ")[1],  # the person's name
                            rng.choice(ACCENTED_PHRASES), rng.choice(STREETS)))
                for d in samples]
    return {
        "(a) accented": [SearchQuery(text=q) for q in accented],
        "(b) folded": [SearchQuery(text=fold(q)) for q in accented],
        "(c) filtered: owner + type": [
            SearchQuery(text=fold(rng.choice(("dat", "nguyen", d.title.split()[0]))),
                        owner_id=d.owner_id, document_type=d.document_type) for d in samples],
        "(d) reuse lookup (filters only)": [
            SearchQuery(owner_id=d.owner_id, document_type=d.document_type, status="ready",
                        limit=100) for d in samples],
    }


def bench(engine: str, make: Callable[[], SearchIndex], count: int, seed: int,
          runs: int) -> list[Row]:
    index = make()
    start = time.perf_counter()
    index.rebuild(documents(count, seed))
    built = time.perf_counter() - start
    rows = [Row(engine=engine, docs=count, measure="index (rebuild, bulk)", runs=count,
                rate=f"{count / built:,.0f} docs/s ({built:.1f} s)")]
    assert index.count() == count, index.count()
    writes = []
    for n in range(50):
        doc = replace(make_doc(n, seed), version=2 + n)
        start = time.perf_counter()
        index.upsert([doc])
        writes.append(time.perf_counter() - start)
    rows.append(Row(engine=engine, docs=count, measure="upsert 1 doc, committed + visible",
                    runs=len(writes), p50_ms=1000 * statistics.median(writes),
                    p95_ms=1000 * percentile(writes, 0.95)))
    for measure, queries in query_sets(count, seed, runs).items():
        rows.append(timed(engine, count, measure, queries, index))
    return rows


def print_table(rows: list[Row]) -> None:
    head = ("engine", "docs", "measure", "runs", "p50 ms", "p95 ms", "mean total", "throughput")
    lines = [(r.engine, f"{r.docs:,}", r.measure, str(r.runs),
              "" if r.p50_ms is None else f"{r.p50_ms:.2f}",
              "" if r.p95_ms is None else f"{r.p95_ms:.2f}",
              "" if r.hits is None else f"{r.hits:,.1f}", r.rate) for r in rows]
    widths = [max(len(str(x)) for x in column) for column in zip(head, *lines, strict=True)]
    for line in (head, tuple("-" * w for w in widths), *lines):
        print("| " + " | ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True))
              + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--million", action="store_true", help="also 1,000,000 documents")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--elastic", metavar="URL", help="also bench an Elasticsearch server")
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s] + ([1_000_000] if args.million else [])
    rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="motcua-bench-search-"))
    try:
        for count in sizes:
            folder = work / f"tantivy-{count}"
            rows += bench("tantivy", partial(TantivyIndex, folder), count, args.seed,
                          args.queries)
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            print(f"# tantivy {count:,} docs: {size / 2**20:,.0f} MiB on disk", file=sys.stderr)
            if args.elastic:
                from elasticsearch import Elasticsearch

                from search.elastic_index import ElasticIndex

                client = Elasticsearch(args.elastic, request_timeout=600)
                alias = f"motcua-bench-{count}"
                rows += bench("elastic", partial(ElasticIndex, client, alias), count,
                              args.seed, args.queries)
                for name in client.indices.get(index=f"{alias}-*"):
                    client.indices.delete(index=name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": sizes, "rows": [asdict(r) for r in rows]},
                                              indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
