from services.processing.bootstrap import create_app
from services.processing.config import ProcessingSettings
from shared.runtime import serve

if __name__ == "__main__":
    serve("processing", ProcessingSettings, create_app)
