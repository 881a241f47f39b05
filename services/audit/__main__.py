from services.audit.bootstrap import create_app
from services.audit.config import AuditSettings
from shared.runtime import serve

if __name__ == "__main__":
    serve("audit", AuditSettings, create_app)
