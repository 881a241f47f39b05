from services.intake.bootstrap import create_app
from services.intake.config import IntakeSettings
from shared.runtime import serve

if __name__ == "__main__":
    serve("intake", IntakeSettings, create_app)
