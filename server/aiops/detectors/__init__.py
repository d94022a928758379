"""The detector's domain: its settings (`spec`), its states (`lifecycle`) and its backtest.

The API's servicers and the pipeline both call these; the algorithms themselves are
registered in `aiops.detect.registry`."""
