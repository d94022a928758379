"""The pipeline: a scheduler and one runner per started detector (fetch -> detect -> store ->
publish), and the health probe of every data source."""
