import { randomBytes } from "crypto";
import { Output, randomPassword, Services } from "~templates-utils";
import { Input } from "./meta";

// Kestra behind Perch: Kestra (standalone, PostgreSQL) without a domain, and Perch with the domain,
// each on its own PostgreSQL service. Kestra's single account is generated here and given to Perch
// only; Kestra's password rules want an upper-case letter, a lower-case letter and a digit.
export function generate(input: Input): Output {
  const services: Services = [];
  const kestraDbPassword = randomPassword();
  const perchDbPassword = randomPassword();
  const kestraAccount = "perch@kestra.local";
  const kestraPassword = `Kp1${randomPassword()}`;
  // Kestra's kestra.encryption.secret-key: 32 random bytes, base64.
  const encryptionKey = randomBytes(32).toString("base64");
  const kestraDb = `${input.kestraServiceName}-db`;
  const perchDb = `${input.perchServiceName}-db`;

  services.push({
    type: "app",
    data: {
      serviceName: input.kestraServiceName,
      env: [
        `KESTRA_URL=https://$(PRIMARY_DOMAIN)`,
        `KESTRA_SERVER_BASIC_AUTH_USERNAME=${kestraAccount}`,
        `KESTRA_SERVER_BASIC_AUTH_PASSWORD=${kestraPassword}`,
        `KESTRA_ENCRYPTION_SECRET_KEY=${encryptionKey}`,
        `DATASOURCES_POSTGRES_URL=jdbc:postgresql://$(PROJECT_NAME)_${kestraDb}:5432/$(PROJECT_NAME)`,
        `DATASOURCES_POSTGRES_DRIVER_CLASS_NAME=org.postgresql.Driver`,
        `DATASOURCES_POSTGRES_USERNAME=postgres`,
        `DATASOURCES_POSTGRES_PASSWORD=${kestraDbPassword}`,
        `KESTRA_REPOSITORY_TYPE=postgres`,
        `KESTRA_QUEUE_TYPE=postgres`,
        `KESTRA_CONFIGURATION={kestra: {storage: {type: local, local: {base-path: /app/storage}}}}`,
      ].join("\n"),
      source: { type: "image", image: input.kestraServiceImage },
      // One standalone server per database: never two at once during a deployment.
      deploy: { command: "/app/kestra server standalone", zeroDowntime: false },
      // No domain: only Perch, inside the project's network, reaches Kestra.
      domains: [],
      mounts: [{ type: "volume", name: "storage", mountPath: "/app/storage" }],
    },
  });

  services.push({
    type: "app",
    data: {
      serviceName: input.perchServiceName,
      env: [
        `PERCH_HOST=0.0.0.0`,
        `PERCH_PUBLIC_URL=https://$(PRIMARY_DOMAIN)`,
        `PERCH_DATABASE_URL=postgres://postgres:${perchDbPassword}@$(PROJECT_NAME)_${perchDb}:5432/$(PROJECT_NAME)`,
        `PERCH_KESTRA_URL=http://$(PROJECT_NAME)_${input.kestraServiceName}:8080`,
        `PERCH_KESTRA_USERNAME=${kestraAccount}`,
        `PERCH_KESTRA_PASSWORD=${kestraPassword}`,
        `PERCH_ADMIN_EMAIL=${input.adminEmail}`,
        `PERCH_ADMIN_PASSWORD=${input.adminPassword}`,
      ].join("\n"),
      source: { type: "image", image: input.perchServiceImage },
      deploy: { command: null, zeroDowntime: true },
      domains: [{ host: "$(EASYPANEL_DOMAIN)", port: 8090 }],
      mounts: [{ type: "volume", name: "data", mountPath: "/data" }],
    },
  });

  services.push({ type: "postgres", data: { serviceName: kestraDb, password: kestraDbPassword } });
  services.push({ type: "postgres", data: { serviceName: perchDb, password: perchDbPassword } });

  return { services };
}
