"""Wire formats: the request model and the response/chunk builders."""
