// Create or edit a detector: every algorithm of the contract's `algorithm` oneof with its
// parameters, direction, minimum deviation and thresholds. Left empty, a setting takes the
// server's default. The server's field violations show at the fields they name. An edit sends
// the etag: one someone else's save made stale is refused, and the form then shows what is
// stored.
import { Direction, DirectionSchema } from "@aiops/client";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useAppDispatch, useAppSelector } from "../../app/hooks";
import { DeletedNotice } from "../../components/DeletedNotice";
import { Field, FormErrors, formatOptionalNumber, parseOptionalNumber } from "../../components/Field";
import { capitalize, humanize } from "../../utils/format";
import { resourceId } from "../../utils/proto";
import { LoadingState } from "../connection/LoadingState";
import { selectAllDataSources } from "../dataSources/dataSourcesSlice";
import { ALGORITHMS, algorithmNamed, type Algorithm, type Parameter } from "./algorithms";
import { BacktestPreview } from "./BacktestPreview";
import {
  createDetector,
  editEtag,
  fetchDetector,
  selectDetectorByName,
  selectDetectorDeleted,
  updateDetector,
} from "./detectorsSlice";
import type { DetectorSpec, DetectorView } from "./model";

export interface DetectorFormValues {
  id: string;
  displayName: string;
  description: string;
  dataSource: string;
  query: string;
  step: string;
  /** The chosen member of the oneof; "" for the server's default. */
  algorithm: string;
  /** Per algorithm, its parameters as typed (switching algorithms keeps what was typed). */
  params: Record<string, Record<string, string>>;
  direction: string;
  minDeviation: string;
  warning: string;
  critical: string;
}

export function formValues(detector?: DetectorView): DetectorFormValues {
  const params: Record<string, Record<string, string>> = {};
  if (detector?.algorithm) {
    params[detector.algorithm.kind] = Object.fromEntries(
      Object.entries(detector.algorithm.params).map(([key, value]) => [key, String(value)]),
    );
  }
  return {
    id: detector ? resourceId(detector.name) : "",
    displayName: detector?.displayName ?? "",
    description: detector?.description ?? "",
    dataSource: detector?.dataSource ?? "",
    query: detector?.query ?? "",
    step: formatOptionalNumber(detector?.stepSeconds),
    algorithm: detector?.algorithm?.kind ?? "",
    params,
    direction: String(detector?.direction ?? Direction.UNSPECIFIED),
    minDeviation: formatOptionalNumber(detector?.minDeviation),
    warning: formatOptionalNumber(detector?.warning),
    critical: formatOptionalNumber(detector?.critical),
  };
}

/** The spec the values say, and what is wrong with them before the server sees them. */
export function formSpec(values: DetectorFormValues): { spec: DetectorSpec; violations: Record<string, string> } {
  const violations: Record<string, string> = {};
  const number = (text: string, path: string) => {
    const value = parseOptionalNumber(text);
    if (value !== null && Number.isNaN(value)) violations[path] = `not a number: ${text}`;
    return value;
  };
  const algorithm = algorithmNamed(values.algorithm);
  const params: Record<string, number> = {};
  for (const param of algorithm?.parameters ?? []) {
    const value = number(values.params[values.algorithm]?.[param.name] ?? "", paramPath(values.algorithm, param));
    if (value !== null) params[param.name] = value;
  }
  return {
    spec: {
      displayName: values.displayName.trim(),
      description: values.description.trim(),
      dataSource: values.dataSource,
      query: values.query.trim(),
      stepSeconds: number(values.step, "detector.step"),
      algorithm: algorithm ? { kind: algorithm.name, params } : null,
      direction: Number(values.direction) as Direction,
      minDeviation: number(values.minDeviation, "detector.min_deviation"),
      warning: number(values.warning, "detector.thresholds.warning"),
      critical: number(values.critical, "detector.thresholds.critical"),
    },
    violations,
  };
}

const paramPath = (algorithm: string, param: Parameter) => `detector.${algorithm}.${param.name}`;

/** The field violation paths a form field shows, besides each parameter's own. */
const PLACED = new Set([
  "detector_id",
  "detector.display_name",
  "detector.description",
  "detector.data_source",
  "detector.query",
  "detector.step",
  "detector.direction",
  "detector.min_deviation",
  "detector.thresholds",
  "detector.thresholds.warning",
  "detector.thresholds.critical",
]);

export function DetectorForm() {
  const { id } = useParams();
  const name = id === undefined ? undefined : `detectors/${id}`;
  const detector = useAppSelector((state) => (name ? selectDetectorByName(state, name) : undefined));
  const loaded = useAppSelector((state) => state.connection.loaded);
  const deleted = useAppSelector((state) => (name ? selectDetectorDeleted(state, name) : false));
  if (name !== undefined && detector === undefined) {
    if (deleted) return <DeletedNotice name={name} back="/detectors" backText="Back to the detectors" />;
    return loaded ? (
      <div className="empty">
        <p>There is no detector {name}.</p>
        <Link to="/detectors">Back to the detectors</Link>
      </div>
    ) : (
      <LoadingState what="detector" />
    );
  }
  // Keyed by name: the form starts from the detector as it was when it opened, and live
  // updates (its state, someone else's edit) do not overwrite what is being typed.
  return <DetectorFormBody key={name ?? "new"} detector={detector} />;
}

function DetectorFormBody({ detector }: { detector?: DetectorView }) {
  const editing = detector !== undefined;
  const dispatch = useAppDispatch();
  const navigate = useNavigate();
  const dataSources = useAppSelector(selectAllDataSources);
  // The detector as the form read it: its etag is what an edit is conditional on.
  const [opened, setOpened] = useState(detector);
  const [values, setValues] = useState(() => formValues(detector));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string>();
  const [saving, setSaving] = useState(false);
  const form = useRef<HTMLFormElement>(null);

  useEffect(() => {
    form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [errors]);

  const set = (key: keyof DetectorFormValues) => (event: { target: { value: string } }) =>
    setValues((was) => ({ ...was, [key]: event.target.value }));
  const setParam = (algorithm: string, param: string) => (event: { target: { value: string } }) =>
    setValues((was) => ({
      ...was,
      params: { ...was.params, [algorithm]: { ...was.params[algorithm], [param]: event.target.value } },
    }));

  const algorithm = algorithmNamed(values.algorithm);
  const placed = new Set([
    ...PLACED,
    ...(algorithm?.parameters.map((param) => paramPath(algorithm.name, param)) ?? []),
    ...(algorithm ? [`detector.${algorithm.name}`] : []),
  ]);
  const unplaced = Object.fromEntries(Object.entries(errors).filter(([path]) => !placed.has(path)));
  // The settings as typed, for the preview (it runs once they stop changing).
  const typed = formSpec(values);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const { spec, violations } = formSpec(values);
    if (Object.keys(violations).length > 0) {
      setErrors(violations);
      setMessage("Some fields are invalid.");
      return;
    }
    setSaving(true);
    setMessage(undefined);
    const result = editing
      ? await dispatch(
          updateDetector({ name: detector.name, spec, etag: editEtag(opened ?? detector, detector) }),
        )
      : await dispatch(createDetector({ id: values.id.trim(), spec }));
    if (result.meta.requestStatus === "fulfilled" && result.payload && "name" in result.payload) {
      setSaving(false);
      navigate(`/detectors/${resourceId(result.payload.name)}`);
      return;
    }
    const error = result.payload && "fields" in result.payload ? result.payload : undefined;
    if (editing && error?.reason === "ETAG_MISMATCH") {
      // Someone else saved it since the form read it: show what is stored now, to edit again.
      const fresh = await dispatch(fetchDetector(detector.name));
      if (fetchDetector.fulfilled.match(fresh) && fresh.payload !== null) {
        setOpened(fresh.payload);
        setValues(formValues(fresh.payload));
      }
      setSaving(false);
      setErrors({});
      setMessage(`${error.message}. The form now shows what is stored: make your changes again.`);
      return;
    }
    setSaving(false);
    setErrors(error?.fields ?? {});
    setMessage(error?.message ?? ("error" in result ? result.error.message : undefined) ?? "It failed.");
  };

  return (
    <form ref={form} className="form" aria-labelledby="detector-form-heading" onSubmit={submit} noValidate>
      <div className="page-header">
        <h2 id="detector-form-heading">{editing ? `Edit ${detector.name}` : "New detector"}</h2>
        <Link to={editing ? `/detectors/${resourceId(detector.name)}` : "/detectors"}>Cancel</Link>
      </div>
      <FormErrors message={message} unplaced={unplaced} />
      {!editing && (
        <Field
          label="Id"
          error={errors["detector_id"]}
          hint="Lower-case letters, digits and hyphens; empty: the server picks one."
        >
          {(props) => <input {...props} value={values.id} onChange={set("id")} autoComplete="off" />}
        </Field>
      )}
      <Field label="Display name" error={errors["detector.display_name"]}>
        {(props) => <input {...props} value={values.displayName} onChange={set("displayName")} />}
      </Field>
      <Field label="Description" error={errors["detector.description"]}>
        {(props) => <textarea {...props} rows={2} value={values.description} onChange={set("description")} />}
      </Field>
      <Field
        label="Data source"
        error={errors["detector.data_source"]}
        hint={dataSources.length === 0 ? <Link to="/data-sources/new">Add a data source first</Link> : undefined}
      >
        {(props) => (
          <select {...props} value={values.dataSource} onChange={set("dataSource")}>
            <option value="">Choose a data source</option>
            {dataSources.map((source) => (
              <option key={source.name} value={source.name}>
                {source.displayName ? `${source.displayName} (${source.name})` : source.name}
              </option>
            ))}
            {values.dataSource && !dataSources.some((s) => s.name === values.dataSource) && (
              <option value={values.dataSource}>{values.dataSource}</option>
            )}
          </select>
        )}
      </Field>
      <Field label="Query" error={errors["detector.query"]} hint="PromQL, or a LogQL metric query on Loki.">
        {(props) => (
          <textarea {...props} rows={3} className="mono" value={values.query} onChange={set("query")} spellCheck={false} />
        )}
      </Field>
      <Field label="Step (seconds)" error={errors["detector.step"]}>
        {(props) => (
          <input {...props} type="number" min={1} step={1} placeholder="default" value={values.step} onChange={set("step")} />
        )}
      </Field>
      <fieldset className="fieldset">
        <legend>Algorithm</legend>
        <Field label="Algorithm" error={algorithm ? errors[`detector.${algorithm.name}`] : undefined}>
          {(props) => (
            <select {...props} value={values.algorithm} onChange={set("algorithm")}>
              <option value="">Server default</option>
              {ALGORITHMS.map((a) => (
                <option key={a.name} value={a.name}>
                  {a.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        {algorithm && (
          <AlgorithmParameters
            algorithm={algorithm}
            values={values.params[algorithm.name] ?? {}}
            errors={errors}
            onChange={setParam}
          />
        )}
      </fieldset>
      <fieldset className="fieldset">
        <legend>Scoring</legend>
        <Field label="Direction" error={errors["detector.direction"]}>
          {(props) => (
            <select {...props} value={values.direction} onChange={set("direction")}>
              {DirectionSchema.values.map((value) => (
                <option key={value.number} value={String(value.number)}>
                  {value.number === Direction.UNSPECIFIED ? "Server default" : capitalize(humanize(value.localName))}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          label="Minimum deviation"
          error={errors["detector.min_deviation"]}
          hint="Smaller deviations never score, in the series' own unit."
        >
          {(props) => (
            <input {...props} type="number" min={0} step="any" placeholder="default" value={values.minDeviation} onChange={set("minDeviation")} />
          )}
        </Field>
        <Field label="Warning threshold" error={errors["detector.thresholds.warning"] ?? errors["detector.thresholds"]}>
          {(props) => (
            <input {...props} type="number" min={0} max={1} step="any" placeholder="default" value={values.warning} onChange={set("warning")} />
          )}
        </Field>
        <Field label="Critical threshold" error={errors["detector.thresholds.critical"]}>
          {(props) => (
            <input {...props} type="number" min={0} max={1} step="any" placeholder="default" value={values.critical} onChange={set("critical")} />
          )}
        </Field>
      </fieldset>
      <BacktestPreview spec={typed.spec} invalid={Object.keys(typed.violations).length > 0} />
      <div className="button-row">
        <button type="submit" className="button-primary" disabled={saving}>
          {saving ? "Saving…" : editing ? "Save changes" : "Create detector"}
        </button>
      </div>
    </form>
  );
}

function AlgorithmParameters({
  algorithm,
  values,
  errors,
  onChange,
}: {
  algorithm: Algorithm;
  values: Record<string, string>;
  errors: Record<string, string>;
  onChange: (algorithm: string, param: string) => (event: { target: { value: string } }) => void;
}) {
  return (
    <div className="parameters">
      {algorithm.parameters.map((param) => (
        <Field
          key={param.name}
          label={param.kind === "duration" ? `${param.name} (seconds)` : param.name}
          error={errors[paramPath(algorithm.name, param)]}
        >
          {(props) => (
            <input
              {...props}
              type="number"
              step={param.kind === "integer" ? 1 : "any"}
              placeholder="default"
              value={values[param.name] ?? ""}
              onChange={onChange(algorithm.name, param.name)}
            />
          )}
        </Field>
      ))}
    </div>
  );
}
