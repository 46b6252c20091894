"""Server-sent events: `encoder` turns events into chunk bytes, `decoder` turns upstream bytes into data."""
