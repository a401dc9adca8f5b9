"""Full-text search: the ``records.ports.SearchIndex`` port on two engines.

- ``search.tantivy_index.TantivyIndex(directory | None)``: embedded, the default.
- ``search.elastic_index.ElasticIndex(client, alias)``: Elasticsearch 8, to scale out.
- ``search.text``: NFC, folding (đ -> d), the query sanitiser, snippets; shared by both.

The engines are imported from their modules, not here, so that importing ``search`` loads
neither Tantivy nor the Elasticsearch client.
"""

from search.text import fold, make_snippet, nfc, sanitize_query

__all__ = ["fold", "make_snippet", "nfc", "sanitize_query"]
