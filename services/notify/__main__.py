from services.notify.bootstrap import create_app
from services.notify.config import NotifySettings
from shared.runtime import serve

if __name__ == "__main__":
    serve("notify", NotifySettings, create_app)
