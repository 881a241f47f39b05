# One image for the four services; the command picks the service (python -m services.<name>).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml constraints.txt ./
COPY shared ./shared
COPY services ./services
RUN pip install -c constraints.txt . \
    && useradd --system --no-create-home adminduk

USER adminduk
EXPOSE 8000
CMD ["python", "-m", "services.intake"]
