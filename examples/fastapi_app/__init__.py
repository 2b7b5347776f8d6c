"""FastAPI example: one KeyAPI client owned by the app's lifespan (see app.py)."""
