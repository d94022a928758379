// Health events come when a data source's health changes: until one does, a Check says where
// each data source stands (once per load, not a poll).
import type { AppStartListening } from "../../app/store";
import { checkDataSource, loadDataSources } from "./dataSourcesSlice";

export function addDataSourceListeners(startListening: AppStartListening): void {
  startListening({
    actionCreator: loadDataSources.fulfilled,
    effect: (action, api) => {
      const { health, checking } = api.getState().dataSources;
      for (const source of action.payload) {
        if (health[source.name] === undefined && !checking[source.name]) {
          void api.dispatch(checkDataSource(source.name));
        }
      }
    },
  });
}
