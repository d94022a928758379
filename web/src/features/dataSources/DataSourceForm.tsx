// Create or edit a data source. The server's field violations show at the fields they name
// (`data_source.urls[1]` at the URLs). An edit sends the etag: one someone else's save made
// stale is refused, and the form then shows what is stored.
import { DataSource_Kind } from "@aiops/client";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { DeletedNotice } from "../../components/DeletedNotice";
import { Field, FormErrors, formatOptionalNumber, parseOptionalNumber } from "../../components/Field";
import { LoadingState } from "../connection/LoadingState";
import {
  createDataSource,
  editEtag,
  fetchDataSource,
  selectDataSourceByName,
  selectDataSourceDeleted,
  updateDataSource,
} from "./dataSourcesSlice";
import { KIND_TEXT, type DataSourceSpec, type DataSourceView } from "./model";

/** Where each field violation shows; `data_source.urls[N]` goes to the URLs. */
function fieldOf(path: string): string | undefined {
  if (path === "data_source_id") return "id";
  if (path.startsWith("data_source.urls")) return "urls";
  const fields: Record<string, string> = {
    "data_source.display_name": "displayName",
    "data_source.kind": "kind",
    "data_source.authorization": "authorization",
    "data_source.timeout": "timeout",
  };
  return fields[path];
}

/** The violations by form field: several on one field are joined, an item's index said. */
export function errorsByField(violations: Record<string, string>): {
  fields: Record<string, string>;
  unplaced: Record<string, string>;
} {
  const fields: Record<string, string> = {};
  const unplaced: Record<string, string> = {};
  for (const [path, description] of Object.entries(violations)) {
    const field = fieldOf(path);
    if (field === undefined) {
      unplaced[path] = description;
      continue;
    }
    const item = /\[(\d+)\]$/.exec(path);
    const text = item ? `URL ${Number(item[1]) + 1}: ${description}` : description;
    fields[field] = fields[field] ? `${fields[field]}; ${text}` : text;
  }
  return { fields, unplaced };
}

export function DataSourceForm() {
  const { id } = useParams();
  const name = id === undefined ? undefined : `dataSources/${id}`;
  const source = useAppSelector((state) => (name ? selectDataSourceByName(state, name) : undefined));
  const loaded = useAppSelector((state) => state.connection.loaded);
  const deleted = useAppSelector((state) => (name ? selectDataSourceDeleted(state, name) : false));
  if (name !== undefined && source === undefined) {
    if (deleted) return <DeletedNotice name={name} back="/data-sources" backText="Back to the data sources" />;
    return loaded ? (
      <div className="empty">
        <p>There is no data source {name}.</p>
        <Link to="/data-sources">Back to the data sources</Link>
      </div>
    ) : (
      <LoadingState what="data source" />
    );
  }
  return <DataSourceFormBody key={name ?? "new"} source={source} />;
}

function formValues(source?: DataSourceView) {
  return {
    id: "",
    displayName: source?.displayName ?? "",
    kind: String(source?.kind ?? DataSource_Kind.PROMETHEUS),
    urls: source?.urls.join("\n") ?? "",
    authorization: "",
    clearAuthorization: false,
    timeout: formatOptionalNumber(source?.timeoutSeconds),
  };
}

function DataSourceFormBody({ source }: { source?: DataSourceView }) {
  const editing = source !== undefined;
  const dispatch = useAppDispatch();
  const navigate = useNavigate();
  // The data source as the form read it: its etag is what an edit is conditional on.
  const [opened, setOpened] = useState(source);
  const [values, setValues] = useState(() => formValues(source));
  const [violations, setViolations] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string>();
  const [saving, setSaving] = useState(false);
  const form = useRef<HTMLFormElement>(null);
  const { fields: errors, unplaced } = errorsByField(violations);

  useEffect(() => {
    form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [violations]);

  const set = (key: keyof typeof values) => (event: { target: { value: string } }) =>
    setValues((was) => ({ ...was, [key]: event.target.value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const timeout = parseOptionalNumber(values.timeout);
    if (timeout !== null && Number.isNaN(timeout)) {
      setViolations({ "data_source.timeout": `not a number: ${values.timeout}` });
      return;
    }
    const spec: DataSourceSpec = {
      displayName: values.displayName.trim(),
      kind: Number(values.kind) as DataSource_Kind,
      urls: values.urls
        .split(/\s+/)
        .map((url) => url.trim())
        .filter(Boolean),
      authorization: values.clearAuthorization ? "" : values.authorization === "" ? (editing ? null : "") : values.authorization,
      timeoutSeconds: timeout,
    };
    setSaving(true);
    setMessage(undefined);
    const result = editing
      ? await dispatch(updateDataSource({ name: source.name, spec, etag: editEtag(opened ?? source, source) }))
      : await dispatch(createDataSource({ id: values.id.trim(), spec }));
    if (result.meta.requestStatus === "fulfilled") {
      setSaving(false);
      navigate("/data-sources");
      return;
    }
    const error = result.payload && typeof result.payload === "object" && "fields" in result.payload ? result.payload : undefined;
    if (editing && error?.reason === "ETAG_MISMATCH") {
      // Someone else saved it since the form read it: show what is stored now, to edit again.
      const fresh = await dispatch(fetchDataSource(source.name));
      if (fetchDataSource.fulfilled.match(fresh) && fresh.payload !== null) {
        setOpened(fresh.payload);
        setValues(formValues(fresh.payload));
      }
      setSaving(false);
      setViolations({});
      setMessage(`${error.message}. The form now shows what is stored: make your changes again.`);
      return;
    }
    setSaving(false);
    setViolations(error?.fields ?? {});
    setMessage(error?.message ?? "It failed.");
  };

  return (
    <form ref={form} className="form" aria-labelledby="data-source-form-heading" onSubmit={submit} noValidate>
      <div className="page-header">
        <h2 id="data-source-form-heading">{editing ? `Edit ${source.name}` : "New data source"}</h2>
        <Link to="/data-sources">Cancel</Link>
      </div>
      <FormErrors message={message} unplaced={unplaced} />
      {!editing && (
        <Field label="Id" error={errors.id} hint="Lower-case letters, digits and hyphens; empty: the server picks one.">
          {(props) => <input {...props} value={values.id} onChange={set("id")} autoComplete="off" />}
        </Field>
      )}
      <Field label="Display name" error={errors.displayName}>
        {(props) => <input {...props} value={values.displayName} onChange={set("displayName")} />}
      </Field>
      <Field label="Kind" error={errors.kind} hint={editing ? "The kind cannot change after creation." : undefined}>
        {(props) => (
          <select {...props} value={values.kind} onChange={set("kind")} disabled={editing}>
            <option value={String(DataSource_Kind.PROMETHEUS)}>{KIND_TEXT[DataSource_Kind.PROMETHEUS]}</option>
            <option value={String(DataSource_Kind.LOKI)}>{KIND_TEXT[DataSource_Kind.LOKI]}</option>
          </select>
        )}
      </Field>
      <Field label="URLs" error={errors.urls} hint="One per line, tried in order: the others are failovers.">
        {(props) => (
          <textarea {...props} rows={3} className="mono" value={values.urls} onChange={set("urls")} spellCheck={false} />
        )}
      </Field>
      <Field
        label="Authorization header"
        error={errors.authorization}
        hint={editing && source.hasAuthorization ? "One is stored; empty keeps it." : "Such as Bearer <token>; never shown again."}
      >
        {(props) => (
          <input
            {...props}
            type="password"
            autoComplete="off"
            value={values.authorization}
            onChange={set("authorization")}
            disabled={values.clearAuthorization}
          />
        )}
      </Field>
      {editing && source.hasAuthorization && (
        <label className="checkbox">
          <input
            type="checkbox"
            checked={values.clearAuthorization}
            onChange={(event) => setValues((was) => ({ ...was, clearAuthorization: event.target.checked }))}
          />
          Remove the stored authorization
        </label>
      )}
      <Field label="Timeout (seconds)" error={errors.timeout}>
        {(props) => (
          <input {...props} type="number" min={1} step="any" placeholder="default" value={values.timeout} onChange={set("timeout")} />
        )}
      </Field>
      <div className="button-row">
        <button type="submit" className="button-primary" disabled={saving}>
          {saving ? "Saving…" : editing ? "Save changes" : "Create data source"}
        </button>
      </div>
    </form>
  );
}
